"""Training's shot segmentation reads the same content-hash cache as recommend/mockup/analyze/the app:
a clip's shots are detected once, whatever path asks for them."""
from __future__ import annotations

import numpy as np

from supervisor_app.analysis import shots as shots_mod
from supervisor_app.segvmnet.dataset import compute_boundaries


def test_shots_segmentation_is_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    clip = tmp_path / "clip.bin"
    clip.write_bytes(b"any bytes: the cache is keyed on them")
    calls = []

    def fake_detect(path, threshold=0.5, progress=None, should_cancel=None):
        calls.append(str(path))
        return shots_mod.ShotResult(duration_s=10.0, fps=25.0, cut_probs=np.zeros(250, np.float32),
                                    cut_probs_25hz=np.zeros(250, np.float32), cuts_s=[4.0, 7.0],
                                    shots=[(0.0, 4.0), (4.0, 7.0), (7.0, 10.0)], threshold=threshold)

    monkeypatch.setattr(shots_mod, "detect_shots", fake_detect)
    a = compute_boundaries(clip, "shots", 10.0)
    copy = tmp_path / "renamed.bin"
    copy.write_bytes(clip.read_bytes())
    b = compute_boundaries(copy, "shots", 10.0)  # same content under another name: no second detection
    assert calls == [str(clip)]
    assert list(a) == list(b) == [0.0, 4.0, 7.0, 10.0]
