"""The CLI progress line: stages, percent and time left on stderr; one line per stage in logs; -q silences."""
from __future__ import annotations

import io

from supervisor_app.cli.progress_line import ProgressLine


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_log_mode_one_line_per_stage_with_time_left():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(stream=out, clock=clock, log_interval_s=5.0)
    line(0.0, "analysing the video")
    clock.t = 2.0
    line(0.25, "shot detection")
    for i in range(10):  # ten candidates in 1 s: one stage, one line
        clock.t = 4.0 + 0.1 * i
        line(0.5 + 0.05 * i, f"fitting track {i} to the picture")
        line.result()
    clock.t = 8.0
    line.close()
    rows = out.getvalue().splitlines()
    assert len(rows) == 5, rows  # analysing, shot, fitting, first result, done
    assert "[ 25%] shot detection" in rows[1] and "about 6 s left" in rows[1]  # 2 s for 25 % -> 6 s more
    assert rows[2].strip().startswith("4.0 s") and "fitting track 0" in rows[2]
    assert "first result after 4.0 s" in rows[3]
    assert rows[4].strip() == "8.0 s done (8 s)"


def test_log_mode_repeats_a_long_stage_every_interval():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(stream=out, clock=clock, log_interval_s=5.0)
    for i in range(21):
        clock.t = float(i)
        line(i / 20, f"analysed track{i}.ogg")  # one stage ("analysed ...") for 20 s
    rows = out.getvalue().splitlines()
    assert len(rows) == 5 and "[100%] analysed track20.ogg" in rows[-1]


def test_quiet_prints_nothing():
    out = io.StringIO()
    with ProgressLine(stream=out, quiet=True) as line:
        line(0.5, "stage")
        line.result()
    assert out.getvalue() == ""


def test_terminal_redraws_in_place_and_clears():
    out, clock = Tty(), Clock()
    with ProgressLine(stream=out, clock=clock, interval_s=0.2) as line:
        line(0.1, "a")
        clock.t = 0.05
        line(0.2, "a")  # too soon, same stage: not redrawn
        clock.t = 1.5
        line(0.5, "a")
    text = out.getvalue()
    assert text.count("\r") == 4 and "\n" not in text  # two draws + the clearing (\r blanks \r)
    assert "[ 50%] a (2 s elapsed, about 2 s left)" in text
    assert text.endswith("\r")


def test_unknown_fraction_keeps_the_last_one_and_gives_no_time_left():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(stream=out, clock=clock)
    clock.t = 2.0
    line(0.5, "shot detection")
    clock.t = 3.0
    line(None, "searching the brief")
    rows = out.getvalue().splitlines()
    assert "about 2 s left" in rows[0]
    assert "[ 50%] searching the brief (3 s elapsed)" in rows[1] and "left" not in rows[1]


def test_close_when_done_clears_the_terminal_line_at_the_end():
    out, clock = Tty(), Clock()
    line = ProgressLine("features", stream=out, clock=clock, close_when_done=True)
    line(0.5, "a.mp4 (done)")
    line(1.0, "b.mp4 (cached)")
    assert out.getvalue().endswith("\r") and line._closed


def test_a_provisional_first_result_is_said_and_the_first_final_one_too():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(stream=out, clock=clock)

    class R:
        def __init__(self, provisional):
            self.provisional = provisional

    for t, provisional in ((3.2, True), (3.3, True), (8.5, False), (9.0, False)):
        clock.t = t
        line.result(R(provisional))
    text = out.getvalue()
    assert "first result after 3.2 s (provisional" in text
    assert "first final result after 8.5 s" in text and text.count("first final result") == 1
    assert line.first_result_s == 3.2 and line.first_final_result_s == 8.5
    assert line.results == 2  # the final ranking's own count


def test_a_message_is_printed_above_the_progress_line():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(stream=out, clock=clock)
    clock.t = 4.0
    line.message(["provisional top 2:", "  1. A", "  2. B"])
    assert "    4.0 s provisional top 2:\n" in out.getvalue() and "    4.0 s   2. B\n" in out.getvalue()
    tty = Tty()
    line = ProgressLine(stream=tty, clock=clock)
    line(0.5, "detecting shots")
    line.message(["hello"])
    text = tty.getvalue()
    assert "\rhello\n" in text and "detecting shots" in text.split("hello\n")[-1]  # cleared, printed, redrawn
    quiet = io.StringIO()
    ProgressLine(stream=quiet, clock=clock, quiet=True).message(["nothing"])
    assert quiet.getvalue() == ""
