"""The fault table: every command on every relevant bad input, in a subprocess.

Each case asserts the exit code, that a failure is ONE line ``error: <one sentence>`` naming the cause,
that no traceback is printed, and that no file is left behind (the tree of the work folder, TMPDIR and the
corpus is the same before and after). The totals are printed at the end of the run
(``pytest tests/faults -q -rA`` shows them; they go into the issue note).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from faults.conftest import RO_MOUNTS, tree


@dataclass
class Case:
    id: str
    args: Callable  # (corpus, catalog, work_dir) -> list of CLI arguments
    rc: int = 2
    says: tuple = ()  # substrings the output must contain (case-insensitive)
    readonly: Callable | None = None  # (corpus, work_dir) -> folders mounted read-only for the command
    creates: tuple = ()  # files (relative to the work dir) the command is expected to write
    slow: bool = False


def _bad_media_cases(command: str, make, names: dict) -> list[Case]:
    return [Case(f"{command}-{name}", (lambda n: lambda c, cat, w: make(c[n], cat, w))(name), 2, says)
            for name, says in names.items()]


BAD_MEDIA = {
    "fifo": ("named pipe",),
    "device": ("device",),
    "folder": ("folder", ),
    "empty": ("empty",),
    "text": ("not an audio or video file",),
    "garbage_ogg": ("damaged",),
    "truncated_ogg": ("truncated",),
    "truncated_mp4": ("truncated",),
    "missing": ("does not exist",),
}
BAD_AUDIO = {k: BAD_MEDIA[k] for k in ("fifo", "device", "text", "truncated_ogg", "missing")}
BAD_PICTURES = {**{k: BAD_MEDIA[k] for k in ("fifo", "device", "text", "truncated_mp4", "missing")},
                "one_frame_video": ("only 0.10 s",), "long_static_video": ("over the", "limit"),
                "good_ogg": ("no video track",)}

CASES: list[Case] = [
    # --- probe: bad and awkward media ---------------------------------------------------------------
    *_bad_media_cases("probe", lambda f, cat, w: ["probe", f], {**BAD_MEDIA, "folder": ("not an audio or video",)}),
    Case("probe-8-channels", lambda c, cat, w: ["probe", c["ch8_flac"]], 0, ("channels", "8")),
    Case("probe-16-channels", lambda c, cat, w: ["probe", c["ch16_wav"]], 0, ("16",)),
    Case("probe-non-utf8-name", lambda c, cat, w: ["probe", c["non_utf8_name"]], 0, ("vorbis",)),
    Case("probe-audio-longer-than-video", lambda c, cat, w: ["probe", c["audio_longer_mp4"]], 0,
         ("warning:", "runs 1.9 s past")),
    Case("probe-ogg-cover-art", lambda c, cat, w: ["probe", c["ogg_cover"]], 0, ("cover art",)),
    # --- analyze ---------------------------------------------------------------------------------------
    *_bad_media_cases("analyze", lambda f, cat, w: ["analyze", f], BAD_AUDIO),
    Case("analyze-plot-unknown-extension", lambda c, cat, w: ["analyze", c["track"], "--plot", w / "a.xyz"], 2,
         ("extension '.xyz'", ".png")),
    Case("analyze-json-under-a-file", lambda c, cat, w: ["analyze", c["track"], "--json", c["good_ogg"] / "a.json"],
         2, ("cannot be written",)),
    Case("analyze-json-readonly-folder", lambda c, cat, w: ["analyze", c["track"], "--json", w / "ro" / "a.json"], 2,
         ("read-only",), readonly=lambda c, w: [w / "ro"]),
    Case("analyze-too-long-picture", lambda c, cat, w: ["analyze", c["long_static_video"]], 2, ("over the",)),
    # --- recommend ---------------------------------------------------------------------------------------
    *_bad_media_cases("recommend", lambda f, cat, w: ["recommend", f, "--catalog", cat], BAD_PICTURES),
    Case("recommend-json-extension", lambda c, cat, w: ["recommend", c["good_mp4"], "--catalog", cat, "--json",
                                                        w / "r.txt"], 2, ("extension",)),
    Case("recommend-no-catalog", lambda c, cat, w: ["recommend", c["good_mp4"], "--catalog", w / "none.sqlite"], 2,
         ("no catalog",)),
    # --- similar -----------------------------------------------------------------------------------------
    *_bad_media_cases("similar", lambda f, cat, w: ["similar", f, "--catalog", cat],
                      {**BAD_AUDIO, "missing": ("does not exist",)}),
    # --- mockup --------------------------------------------------------------------------------------------
    *_bad_media_cases("mockup-video", lambda f, cat, w: ["mockup", f, "TRACK", "--out", w / "m.mp4"],
                      {k: BAD_PICTURES[k] for k in ("fifo", "truncated_mp4", "missing", "one_frame_video",
                                                    "long_static_video")}),
    Case("mockup-out-extension", lambda c, cat, w: ["mockup", c["good_mp4"], c["track"], "--out", w / "m.avi"], 2,
         ("ending in .mp4",)),
    Case("mockup-wav-readonly", lambda c, cat, w: ["mockup", c["good_mp4"], c["track"], "--out", w / "m.mp4",
                                                   "--wav", w / "ro" / "m.wav"], 2, ("read-only",),
         readonly=lambda c, w: [w / "ro"]),
    Case("mockup-otio-extension", lambda c, cat, w: ["mockup", c["good_mp4"], c["track"], "--out", w / "m.mp4",
                                                     "--otio", w / "t.xml"], 2, ("extension",)),
    # --- playlist ------------------------------------------------------------------------------------------
    Case("playlist-export-without-out", lambda c, cat, w: ["playlist", "export", "picks", "--catalog", cat], 2,
         ("--out",)),
    Case("playlist-export-unknown-format", lambda c, cat, w: ["playlist", "export", "picks", "--catalog", cat,
                                                              "--out", w / "p.txt"], 2, ("extension",)),
    Case("playlist-add-not-a-number", lambda c, cat, w: ["playlist", "add", "picks", "abc", "--catalog", cat], 2,
         ("named 'abc'",)),
    Case("playlist-add-unknown-track", lambda c, cat, w: ["playlist", "add", "picks", "999", "--catalog", cat], 2,
         ("no track with id 999",)),
    Case("playlist-unknown", lambda c, cat, w: ["playlist", "show", "nope", "--catalog", cat], 2, ("no playlist",)),
    Case("playlist-create-without-name", lambda c, cat, w: ["playlist", "create", "--catalog", cat], 2, ("name",)),
    Case("playlist-export-readonly", lambda c, cat, w: ["playlist", "export", "picks", "--catalog", cat, "--out",
                                                        w / "ro" / "p.m3u8"], 2, ("read-only",),
         readonly=lambda c, w: [w / "ro"]),
    Case("playlist-export-ok", lambda c, cat, w: ["playlist", "export", "picks", "--catalog", cat, "--out",
                                                  w / "p.m3u8"], 0, (), creates=("p.m3u8",)),
    # --- search ------------------------------------------------------------------------------------------
    Case("search-json-extension", lambda c, cat, w: ["search", "epic", "--catalog", cat, "--json", w / "s.csv"], 2,
         ("extension",)),
    Case("search-json-is-a-folder", lambda c, cat, w: ["search", "epic", "--catalog", cat, "--json", w], 2,
         ("extension",)),
    # --- catalog -----------------------------------------------------------------------------------------
    Case("catalog-add-bad-corpus", lambda c, cat, w: ["catalog", "add", c["good_ogg"].parent, "--catalog",
                                                      w / "c.sqlite"], 0,
         ("not valid utf-8", "truncated", "not a regular file", "problems"), creates=("c.sqlite",)),
    Case("catalog-add-missing-folder", lambda c, cat, w: ["catalog", "add", w / "nope", "--catalog", w / "c.sqlite"],
         2, ("does not exist",)),
    Case("catalog-open-not-a-catalog", lambda c, cat, w: ["catalog", "list", "--catalog", c["good_ogg"]], 2,
         ("not a supervisor-app catalog",)),
    Case("catalog-index-empty", lambda c, cat, w: ["catalog", "index", "--catalog", _empty_catalog(w)], 2,
         ("no tracks",), creates=("empty.sqlite",)),
    Case("catalog-list-readonly-mount", lambda c, cat, w: ["catalog", "list", "--catalog", _copy_catalog(cat, w)], 0,
         ("vibe_ace",), readonly=lambda c, w: [w / "ro"], creates=("ro/c.sqlite",)),
    Case("catalog-add-readonly-mount", lambda c, cat, w: ["catalog", "add", c["track"].parent, "--catalog",
                                                          _copy_catalog(cat, w)], 2, ("read-only", "not damaged"),
         readonly=lambda c, w: [w / "ro"], creates=("ro/c.sqlite",)),
    Case("catalog-index-readonly-mount", lambda c, cat, w: ["catalog", "index", "--catalog", _copy_catalog(cat, w)],
         2, ("read-only", "not damaged"), readonly=lambda c, w: [w / "ro"], creates=("ro/c.sqlite",)),
    Case("catalog-create-readonly-folder", lambda c, cat, w: ["catalog", "create", "--catalog", w / "ro" / "n.sqlite"],
         2, ("read-only",), readonly=lambda c, w: [w / "ro"]),
    Case("catalog-damaged", lambda c, cat, w: ["catalog", "list", "--catalog", _damaged_catalog(w)], 2,
         ("damaged",), creates=("damaged.sqlite",)),
    Case("catalog-problems", lambda c, cat, w: ["catalog", "problems", "--catalog", cat], 0, ()),
]


def _copy_catalog(cat: Path, w: Path) -> Path:
    (w / "ro").mkdir(exist_ok=True)
    dest = w / "ro" / "c.sqlite"
    dest.write_bytes(Path(cat).read_bytes())
    return dest


def _empty_catalog(w: Path) -> Path:
    from supervisor_app.catalog import Catalog

    with Catalog.create(w / "empty.sqlite"):
        pass
    return w / "empty.sqlite"


def _damaged_catalog(w: Path) -> Path:
    p = w / "damaged.sqlite"
    p.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    return p


def _fill_track(args, c):
    return [c["track"] if a == "TRACK" else a for a in args]


def _assert_one_sentence(run, case: Case) -> None:
    text = run.text
    assert "Traceback" not in text, f"{case.id}: traceback\n{text}"
    assert "internal error" not in text.lower()
    if case.rc == 0:
        return
    errors = [ln for ln in run.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, f"{case.id}: expected one 'error:' line, got\n{run.err}"
    msg = errors[0][len("error:"):].strip()
    assert msg[:1].isupper() or msg[:1] in "/'\"", f"{case.id}: {msg!r} does not start a sentence"
    assert msg.endswith("."), f"{case.id}: {msg!r} is not a sentence"


RESULTS: dict[str, bool] = {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(case: Case, corpus, cli, plain_catalog, tmp_path):
    if case.readonly is not None and not RO_MOUNTS:
        pytest.skip("read-only mounts are not available here (needs root or user namespaces)")
    RESULTS[case.id] = False
    work = tmp_path / "work"
    work.mkdir()
    args = _fill_track(case.args(corpus, plain_catalog, work), corpus)
    ro = []
    if case.readonly is not None:
        ro = case.readonly(corpus, work)
        for d in ro:
            d.mkdir(exist_ok=True)
    watch = (work, cli.tmpdir, corpus["root"])
    before = tree(*watch)
    run = cli(*args, readonly=ro)
    after = tree(*watch)
    assert run.rc == case.rc, f"{case.id}: exit {run.rc} (expected {case.rc})\n{run.text}"
    _assert_one_sentence(run, case)
    for s in case.says:
        assert s.lower() in run.text.lower(), f"{case.id}: expected {s!r} in\n{run.text}"
    expected = {(os.fsencode(str(work)), os.fsencode(os.path.normpath(p))) for p in case.creates}
    assert after - before - expected == set(), f"{case.id}: left behind {sorted(after - before - expected)}"
    assert before - after == set(), f"{case.id}: removed {sorted(before - after)}"
    RESULTS[case.id] = True


def test_fault_totals(request):
    """Print the table's totals (cases run, clean)."""
    ran = len(RESULTS)
    clean = sum(RESULTS.values())
    print(f"\nfault table: {ran} case(s) run, {clean} clean, {len(CASES)} defined")
    if ran:
        assert clean == ran
