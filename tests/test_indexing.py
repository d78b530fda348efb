"""catalog index: per-analyzer errors never stop the run, reruns skip done work, workers agree."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from supervisor_app.catalog import Catalog
from supervisor_app.indexing import (AUTOTAGS, YAMNET_FRAMES, YAMNET_MEAN, beats_key, get_segments,
                                     index_catalog, yamnet_version)

from fixture_paths import MUSIC


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("music")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "5", "-t", "24", "-i", str(MUSIC / "vibe_ace.ogg"),
                    "-vn", str(d / "vibe_excerpt.ogg")], check=True)
    sf.write(d / "silence.wav", np.zeros(12 * 22050, dtype=np.float32), 22050)
    t = np.arange(int(3 * 22050)) / 22050
    sf.write(d / "jingle.wav", (0.3 * np.sin(2 * np.pi * 660 * t)).astype(np.float32), 22050)
    return d


def _snapshot(cat: Catalog) -> dict:
    out = {}
    for t in cat.tracks():
        b = cat.get_analysis(t.id, *beats_key())
        seg = get_segments(cat, t.id, "olda")
        out[Path(t.path).stem] = (b.result if b else None, b.error if b else None,
                        seg.result if seg else None, seg.error if seg else None)
    return out


def test_index_records_errors_and_resumes(folder, tmp_path):
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(folder)
    seen = []
    rep = index_catalog(cat, progress=lambda d, t, m: seen.append((d, t)))
    assert rep.done == 3 and not rep.cancelled
    assert seen[-1] == (3, 3)
    by_title = {Path(t.path).stem: t for t in cat.tracks()}
    vibe = by_title["vibe_excerpt"]
    beats = cat.get_analysis(vibe.id, *beats_key())
    assert beats.error is None and 100 < beats.result["tempo_bpm"] < 160
    olda = get_segments(cat, vibe.id, "olda")
    assert olda.error is None and olda.result["boundaries_s"][0] == 0.0
    frames = cat.get_embedding(vibe.id, YAMNET_FRAMES, yamnet_version())
    assert frames.shape == (24, 1024) and frames.dtype == np.float16
    assert cat.get_embedding(vibe.id, YAMNET_MEAN, yamnet_version()).shape == (1024,)
    tags = cat.get_analysis(vibe.id, AUTOTAGS, yamnet_version()).result["tags"]
    assert len(tags) > 3 and all(0 <= s <= 1 for _, s in tags)
    # the silent file and the 3-s jingle get one-sentence errors, not a crash
    for rec in (cat.get_analysis(by_title["silence"].id, *beats_key()), get_segments(cat, by_title["jingle"].id, "olda")):
        assert rec.result is None and rec.error and rec.error.endswith(".") and "\n" not in rec.error
    assert {step for tid, step, _ in rep.errors if tid == by_title["silence"].id} >= {beats_key()[0]}
    # a second run does nothing
    again = index_catalog(cat)
    assert again.done == 0 and again.skipped == 3
    cat.close()


def test_two_workers_write_the_same_catalog(folder, tmp_path):
    a = Catalog.create(tmp_path / "a.sqlite")
    a.add_folder(folder)
    index_catalog(a, workers=1)
    b = Catalog.create(tmp_path / "b.sqlite")
    b.add_folder(folder)
    index_catalog(b, workers=2)
    assert _snapshot(a) == _snapshot(b)
    for ta, tb in zip(a.tracks(), b.tracks()):
        ea, eb = a.get_embedding(ta.id, YAMNET_FRAMES, yamnet_version()), b.get_embedding(tb.id, YAMNET_FRAMES, yamnet_version())
        assert (ea is None and eb is None) or np.array_equal(ea, eb)


def test_index_cli_on_empty_catalog_is_a_clear_error(tmp_path):
    Catalog.create(tmp_path / "e.sqlite").close()
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli", "catalog", "index", "--catalog", str(tmp_path / "e.sqlite")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no tracks" in r.stderr and "Traceback" not in r.stderr
