"""Progressive analysis: the real shot detection hands the timeline its result so far while it runs."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from supervisor_app.gui.backend import CoreBackend

from fixture_paths import BBB


@pytest.mark.slow
def test_shot_detection_sends_growing_partial_results_that_end_in_the_full_one(tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    video = tmp_path / "bbb_loop.mp4"  # a 64 s picture (512 frames: three network passes), tiny, 8 fps
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(BBB), "-t", "64", "-vf", "scale=160:90",
                    "-r", "8", "-an", "-c:v", "libx264", "-preset", "ultrafast", str(video)], check=True)
    parts = []
    backend = CoreBackend(tmp_path / "work")
    try:
        va = backend.analyze_video(video, partial=parts.append, partial_every_s=0.0)
    finally:
        backend.close()
    assert len(parts) >= 2
    analysed = [len(p.cut_probs_25hz) for p in parts]
    assert analysed == sorted(analysed) and analysed[0] < len(va.cut_probs_25hz)
    for p in parts:  # each partial result is the full one's beginning
        n = len(p.cut_probs_25hz) - 2
        assert np.allclose(p.cut_probs_25hz[:n], va.cut_probs_25hz[:n], atol=1e-3)
        end = len(p.cut_probs_25hz) / 25.0
        assert [c for c in va.cuts_s if c < end - 1.0] == pytest.approx([c for c in p.cuts_s if c < end - 1.0])
        assert p.duration_s == pytest.approx(va.duration_s, abs=0.5)  # the timeline keeps its full length


def test_streamed_results_reach_the_list_in_batches():
    """The first result at once, the next ones together (not one redraw each), the rest on flush."""
    from supervisor_app.gui.backend import _Batched

    handed, prepared = [], []
    b = _Batched(handed.append, prepared.append, every_s=3600.0)
    b.add(1)
    assert handed == [[1]]
    for x in (2, 3, 4):
        b.add(x)
    assert handed == [[1]]
    b.flush()
    b.flush()  # nothing left: nothing handed on
    assert handed == [[1], [2, 3, 4]] and prepared == handed
    every = _Batched(handed.append, every_s=0.0)
    every.add(5)
    every.add(6)
    assert handed[-2:] == [[5], [6]]
