"""The timeline at every zoom and length: vertical marks at their times, labels that never overlap, the ruler."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from supervisor_app.gui.timeline import LANE_CUTS, TimeAxis, Timeline, timecode  # noqa: E402

pytestmark = pytest.mark.gui


def _film(duration_s: float, n_cuts: int, n_excerpts: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.uniform(0.5, duration_s - 0.5, n_cuts))
    curve = np.full(int(np.ceil(duration_s * 25)), 0.02)
    curve[np.round(cuts * 25).astype(int)] = 0.95
    b = [0.0, *cuts.tolist(), duration_s]
    shots = list(zip(b[:-1], b[1:]))
    eb = np.sort(np.r_[0.0, rng.uniform(0, duration_s, n_excerpts - 1), duration_s])
    excerpts, m = [], 12.0
    for a, e in zip(eb[:-1], eb[1:]):
        excerpts.append(dict(video_start_s=float(a), video_end_s=float(e), music_in_s=m, music_out_s=m + float(e - a)))
        m += float(e - a) + 4.0
    return curve, cuts, shots, excerpts


@pytest.fixture
def film_timeline(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(1100, 300)
    tl.show()
    qtbot.waitExposed(tl)
    curve, cuts, shots, excerpts = _film(180.0, 70, 24)
    tl.set_analysis(180.0, curve, cuts, shots)
    tl.set_candidate(excerpts, downbeats_video_s=np.arange(0.4, 180.0, 1.9))
    tl.set_sync_points([33.3, 101.7])
    return tl


def _to_px(tl, x_s: float, y: float) -> QPointF:
    vb = tl.plot.getPlotItem().getViewBox()
    return tl.plot.mapFromScene(vb.mapViewToScene(QPointF(x_s, y)))


def _check_vertical_marks(tl):
    v0, v1 = tl.view_range_s()
    for item, data in ((tl.cut_lines, tl.cuts_s), (tl.downbeat_lines, tl.downbeats_video_s),
                       (tl.splice_lines, tl.splices_s), (tl.sync_lines, np.array(tl.sync_points_s))):
        lines = item.lines_in_view()
        expect = np.sort(data[(data >= v0) & (data <= v1)])
        assert [x0 for x0, _, _, _ in lines] == pytest.approx(expect.tolist())
        y0, y1 = item.span()
        for x0, ya, x1, yb in lines:  # one vertical segment per time, spanning the lane
            assert x0 == x1 and (ya, yb) == (y0, y1)
            pa, pb = _to_px(tl, x0, ya), _to_px(tl, x1, yb)
            assert pa.x() == pytest.approx(pb.x(), abs=1e-6) and abs(pa.y() - pb.y()) > 5


def _cut_columns(tl) -> tuple[set, list]:
    """Pixel columns where the cut colour is drawn inside the cuts lane, and the expected columns."""
    for item in (tl.splice_lines, tl.sync_lines, tl.playhead):  # lines through every lane, other colours
        item.setVisible(False)
    img = tl.grab().toImage()
    for item in (tl.splice_lines, tl.sync_lines, tl.playhead):
        item.setVisible(True)
    cut = QColor(tl.theme.cut)
    y_top = int(_to_px(tl, 0.0, LANE_CUTS[0] - 0.1).y())
    y_bot = int(_to_px(tl, 0.0, LANE_CUTS[1] + 0.1).y())
    x_left = int(_to_px(tl, tl.view_range_s()[0], 0).x()) + 2
    x_right = int(_to_px(tl, tl.view_range_s()[1], 0).x()) - 2
    cols = set()
    for x in range(x_left, x_right):
        hits = 0
        for y in range(y_top, y_bot, 2):
            c = img.pixelColor(x, y)
            if abs(c.red() - cut.red()) + abs(c.green() - cut.green()) + abs(c.blue() - cut.blue()) < 60:
                hits += 1
        if hits >= 0.6 * len(range(y_top, y_bot, 2)):  # a line through the whole lane at this column
            cols.add(x)
        elif hits:
            cols.add(("partial", x))
    v0, v1 = tl.view_range_s()
    expected = [_to_px(tl, c, 0).x() for c in tl.cuts_s if v0 + 0.01 < c < v1 - 0.01]
    return cols, expected


@pytest.mark.parametrize("steps", [0, 3, 8])
def test_marks_stay_vertical_at_their_times_when_zooming_in_and_out(film_timeline, qtbot, steps):
    tl = film_timeline
    tl.set_playhead(95.0)
    for _ in range(steps):  # zoom in step by step as the + key does
        tl.zoom(1.6)
    qtbot.wait(20)
    v0, v1 = tl.view_range_s()
    assert v1 - v0 == pytest.approx(180.0 / 1.6 ** steps, rel=0.02)
    _check_vertical_marks(tl)
    cols, expected = _cut_columns(tl)
    partial = sorted(x for c in cols if isinstance(c, tuple) for x in [c[1]])
    full = sorted(c for c in cols if not isinstance(c, tuple))
    # every column touched by the cut colour is within 2 px of a cut: no slashes or diagonals
    for x in full + partial:
        assert min(abs(x - e) for e in expected) <= 2.0, f"cut colour at x={x}, no cut there"
    for e in expected:  # and every cut in view is a line through the lane
        assert any(abs(x - e) <= 2.0 for x in full)
    for _ in range(steps):  # and back out
        tl.zoom(1 / 1.6)
    _check_vertical_marks(tl)


def test_three_minute_film_with_many_excerpts_has_no_overlapping_labels(film_timeline, qtbot):
    tl = film_timeline
    assert len(tl.excerpts) >= 20
    for zoom_steps in (0, 2, 5):
        tl.reset_zoom()
        tl.set_playhead(90.0)
        for _ in range(zoom_steps):
            tl.zoom(1.6)
        qtbot.wait(10)
        boxes = tl.label_boxes()
        assert boxes, "some labels are shown"
        for i, (a, _) in enumerate(boxes):
            for b, _ in boxes[i + 1:]:
                assert not a.intersects(b), f"labels overlap at zoom step {zoom_steps}"
        # each label lies inside its excerpt's span on screen
        for box, text in boxes:
            assert any(_to_px(tl, e["video_start_s"], 0).x() - 1 <= box.left()
                       and box.right() <= _to_px(tl, e["video_end_s"], 0).x() + 1 for e in tl.excerpts)
            assert text
    tl.reset_zoom()
    shown = {t for _, t in tl.label_boxes()}
    assert any(t.endswith("…") for t in shown) or len(shown) < len(tl.excerpts)  # narrow spans elide or hide


def test_half_hour_film_draws_only_what_is_in_view(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(1100, 300)
    tl.show()
    curve, cuts, shots, excerpts = _film(1800.0, 900, 300, seed=3)
    tl.set_analysis(1800.0, curve, cuts, shots)
    tl.set_candidate(excerpts, downbeats_video_s=np.arange(0.4, 1800.0, 2.1))
    tl.set_sound_envelope(np.abs(np.sin(np.arange(180000) / 40.0)), 100.0)
    qtbot.wait(10)
    boxes = tl.label_boxes()
    for i, (a, _) in enumerate(boxes):
        assert not any(a.intersects(b) for b, _ in boxes[i + 1:])
    _check_vertical_marks(tl)
    tl.set_playhead(900.0)
    for _ in range(12):
        tl.zoom(1.6)
    _check_vertical_marks(tl)
    assert len(tl.cut_lines.lines_in_view()) < 20
    assert tl.sound_wave._visible()[0].size <= 2 * tl.width() + 2


def test_ruler_ticks_at_round_times_and_timecode_with_frames(qtbot):
    ax = TimeAxis("top")
    # 3 minutes over 1000 px: a major tick every 15 or 30 s (>= 90 px apart)
    (major, _), *_ = ax.tickSpacing(0.0, 180.0, 1000.0)
    assert major in (15.0, 30.0)
    (major, _), *_ = ax.tickSpacing(0.0, 1800.0, 1000.0)
    assert major in (300.0, 600.0)
    (major, _), *_ = ax.tickSpacing(10.0, 12.0, 1000.0)
    assert major in (0.1, 0.2)
    assert ax.tickStrings([0.0, 75.0], 1.0, 15.0) == ["0:00", "1:15"]
    assert ax.tickStrings([75.5], 1.0, 0.5) == ["1:15.5"]
    ax.frames, ax.fps = True, 25.0
    (major, _), *_ = ax.tickSpacing(10.0, 11.0, 1000.0)
    assert major == pytest.approx(0.2) or major == pytest.approx(0.04 * round(major / 0.04))
    assert ax.tickStrings([75.48], 1.0, 0.04) == ["1:15:12"]
    assert timecode(3725.0) == "1:02:05" and timecode(3725.0, 25.0) == "1:02:05:00"


def test_section_spans_follow_the_edit():
    """Known answer: a 60 s track with sections at 0 / 20 / 45 / 60 s, cut to a 50 s picture as
    0–30 s of the track, then 20–40 s again (a repeat of section 2)."""
    from supervisor_app.gui.timeline import section_spans

    ex = [dict(video_start_s=0.0, video_end_s=30.0, music_in_s=0.0, music_out_s=30.0),
          dict(video_start_s=30.0, video_end_s=50.0, music_in_s=20.0, music_out_s=40.0)]
    spans = section_spans(ex, [0.0, 20.0, 45.0, 60.0])
    assert [(round(a, 6), round(b, 6), k) for a, b, k in spans] == [(0.0, 20.0, 1), (20.0, 30.0, 2), (30.0, 50.0, 2)]
    # a jump from section 2 to section 3; then music that plays straight on into the next excerpt: one span
    ex2 = [dict(video_start_s=0.0, video_end_s=10.0, music_in_s=25.0, music_out_s=35.0),
           dict(video_start_s=10.0, video_end_s=20.0, music_in_s=50.0, music_out_s=60.0)]
    assert section_spans(ex2, [0.0, 20.0, 45.0, 60.0]) == [(0.0, 10.0, 2), (10.0, 20.0, 3)]
    ex3 = [dict(video_start_s=0.0, video_end_s=8.0, music_in_s=2.0, music_out_s=10.0),
           dict(video_start_s=8.0, video_end_s=30.0, music_in_s=10.0, music_out_s=32.0)]
    assert section_spans(ex3, [0.0, 20.0, 45.0, 60.0]) == [(0.0, 18.0, 1), (18.0, 30.0, 2)]
    assert section_spans(ex, []) == [] and section_spans(ex, [0.0]) == []


def test_section_labels_on_the_music_lane_never_overlap(film_timeline, qtbot):
    tl = film_timeline
    excerpts = [dict(e) for e in tl.excerpts]
    bounds = np.arange(0.0, 400.0, 17.0)  # a long track's sections every 17 s
    tl.set_candidate(excerpts, downbeats_video_s=np.arange(0.4, 180.0, 1.9), music_boundaries_s=bounds)
    assert tl.summary()["sections"] == len(tl.sections) >= len(excerpts)
    for zoom_steps in (0, 3):
        tl.reset_zoom()
        tl.set_playhead(90.0)
        for _ in range(zoom_steps):
            tl.zoom(1.6)
        qtbot.wait(10)
        boxes = tl.section_labels.label_boxes()
        assert boxes and all(t.startswith("Section ") or t.startswith("§") for _, t in boxes), boxes
        assert not any(t.endswith("…") for _, t in boxes)  # the short wording rather than a cut-off word
        for i, (a, _) in enumerate(boxes):
            for b, _ in boxes[i + 1:]:
                assert not a.intersects(b)
        # below the excerpt labels, inside the music lane
        ex_boxes = tl.label_boxes()
        assert min(b.top() for b, _ in boxes) > max(b.bottom() for b, _ in ex_boxes)
    # a tick where each section begins (not at 0:00), vertical at its time
    starts = [a for i, (a, _, k) in enumerate(tl.sections) if a > 1e-6 and (i == 0 or k != tl.sections[i - 1][2])]
    assert tl.section_lines.xs().tolist() == pytest.approx(starts)
    tl.clear_candidate()
    assert tl.sections == [] and tl.section_labels.label_boxes() == []
