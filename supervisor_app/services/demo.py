"""The demo's job on the embedded demo media (``supervisor-app demo``: :mod:`supervisor_app.cli.demo`).

1. Builds (once) a demo catalog from the music shipped in ``resources/demo/music`` and, when it has
   been fetched (``supervisor-app pool fetch``), the real music pool; indexes it with progress.
2. Loads the Big Buck Bunny clip, finds candidates for a demo brief (auto-tags, before any training),
   fits each to the picture (calibrated sync score, cuts on downbeats) and renders a mockup of the
   first one (MP4 + WAV + OTIO/FCP XML/EDL).
3. (the command) Opens the app on it when a display is available; headless, it writes everything to
   the output folder and says where. A second run recomputes nothing (catalog + caches) and starts in
   seconds.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from supervisor_app.infra.paths import DEMO_DIR, data_dir
from supervisor_app.infra.fileio import atomic_write_text

DEMO_BRIEF = "upbeat, jazz, percussion, orchestral, strings"
#: files of resources/demo/music that are test clips, not music a supervisor would pitch: the tests use
#: them, the demo catalog leaves them out
TEST_CLIPS = frozenset({"solo_trumpet_90bpm.ogg"})


def is_test_clip(path) -> bool:
    return Path(path).name in TEST_CLIPS
DEMO_VIDEO = DEMO_DIR / "video" / "big_buck_bunny_0_30.webm"


def demo_catalog_path() -> Path:
    return data_dir() / "demo" / "catalog.sqlite"


def demo_out_dir() -> Path:
    d = data_dir() / "demo" / "out"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _say(msg: str) -> None:
    print(msg, flush=True)


def add_demo_music(cat):
    """Add the demo's real music (not its test clips) to ``cat``; returns the scan report."""
    report = cat.add_folder(DEMO_DIR / "music", skip=is_test_clip)
    for t in cat.tracks(include_missing=True):  # demo catalogs built before test clips were left out
        if is_test_clip(t.path) and Path(t.path).parent == (DEMO_DIR / "music").resolve():
            cat.remove_track(t.id)
    return report


def build_demo_catalog(include_pool: bool = True, workers: int | None = None, log=_say, progress=None):
    """Create/refresh and index the demo catalog; returns the open Catalog. ``progress(fraction, stage)``."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.infra.jobs import sub_progress
    from supervisor_app.indexing.pipeline import index_catalog
    from supervisor_app.catalog.pool import default_pool_dir, read_manifest

    from supervisor_app.infra.settings import remember_catalog

    cat = Catalog.create(demo_catalog_path())
    remember_catalog(cat.path)  # the commands' default catalog is the one the demo built
    t0 = time.perf_counter()
    add_demo_music(cat)
    if include_pool and read_manifest(default_pool_dir()):
        log(f"adding the music pool from {default_pool_dir()}")
        cat.add_folder(default_pool_dir(), progress=sub_progress(progress, 0.0, 0.1))
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    report = index_catalog(cat, workers=workers, progress=sub_progress(progress, 0.1, 1.0))
    log(f"catalog {cat.path}: {cat.count()} tracks; {report.summary()} ({time.perf_counter() - t0:.1f} s in all)")
    return cat


def run_headless(cat, video: Path, brief: str, k: int = 5, log=_say, show_results=None) -> dict:
    """Brief → candidates → fit → mockup of the first; writes files into the demo output folder.
    ``show_results(result, keys)`` (the command's table) is called with the candidates as soon as they are
    ranked, ``keys`` being {track id: musical key}."""
    from supervisor_app.briefs.search import brief_candidates, rank_brief
    from supervisor_app.edit.writers import TIMELINE_FORMATS, write_timeline
    from supervisor_app.edit.render_cache import (
        render_mp4_cached as render_mp4,
        render_wav_cached as render_wav,
    )
    from supervisor_app.services.recommend import recommend

    out = demo_out_dir()
    t0 = time.perf_counter()
    exclude, filters, line = brief_candidates(cat, brief)
    matches = [m for m in rank_brief(cat, brief, filters=filters, limit=None).matches if m.track_id not in set(exclude)]
    log(line)
    res = recommend(video, cat, k=k, filters=filters, exclude_track_ids=exclude)
    t_first = time.perf_counter() - t0
    if show_results is not None:
        from supervisor_app.catalog.tracks_view import track_keys

        show_results(res, track_keys(cat, [r.track_id for r in res.results]))
    best = res.results[0]
    stem = out / "mockup"
    render_mp4(best.edit, video, best.path, stem.with_suffix(".mp4"))
    render_wav(best.edit, best.path, stem.with_suffix(".wav"))
    markers = [(e.video_start_s, f"splice {i}") for i, e in enumerate(best.edit.excerpts[1:], 1)]
    for fmt in TIMELINE_FORMATS:  # mockup.otio, mockup.xml, mockup.edl
        write_timeline(fmt, best.edit, video, best.path, stem.with_suffix(TIMELINE_FORMATS[fmt].suffix), markers=markers)
    t_mock = time.perf_counter() - t0
    payload = res.to_dict()
    payload["brief"] = {"text": brief, "matches": [{"track_id": m.track_id, "score": m.score, "matched": m.matched}
                                                   for m in matches]}
    payload["timing_s"] = {"to_first_candidates": round(t_first, 2), "to_mockup": round(t_mock, 2)}
    atomic_write_text(out / "recommendations.json", json.dumps(payload, indent=1))
    log(f"candidates in {t_first:.1f} s, mockup of {best.title!r} in {t_mock:.1f} s")
    return {"out": out, "result": res, "files": sorted(p.name for p in out.iterdir())}

