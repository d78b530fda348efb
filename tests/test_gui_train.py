"""The app's first-run training path: a real Seg-VM-Net training on clips cut from the BBB fixture,
run off the GUI thread with progress, then selectable as the active model."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from supervisor_app.gui.backend import CoreBackend  # noqa: E402
from supervisor_app.gui.train_dialog import TrainDialog  # noqa: E402

from fixture_paths import BBB  # noqa: E402


def _cut(dst: Path, start_s: float, dur_s: float) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", str(dur_s), "-i", str(BBB),
                    "-vf", "scale=160:-2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(dst)],
                   check=True)


def test_train_dialog_refuses_bad_input(qtbot):
    dlg = TrainDialog(CoreBackend())
    qtbot.addWidget(dlg)
    assert dlg.start() is None and "folder" in dlg.log.toPlainText()
    dlg.folder_edit.setText("/tmp")
    dlg.name_edit.setText("bad name/with slash")
    assert dlg.start() is None and "name" in dlg.log.toPlainText()


@pytest.mark.slow
def test_train_dialog_trains_a_model_off_the_gui_thread(qtbot, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(5):
        _cut(clips / f"part{i}.mp4", 6.0 * i, 6.0)
    dlg = TrainDialog(CoreBackend())
    qtbot.addWidget(dlg)
    dlg.folder_edit.setText(str(clips))
    dlg.seg_combo.setCurrentIndex(dlg.seg_combo.findData("shots"))
    dlg.name_edit.setText("gui-test-model")
    stages = []
    done = []
    dlg.model_trained.connect(lambda name, summary: done.append((name, summary)))
    job = dlg.start()
    job.progress.connect(lambda f, s: stages.append(s))
    assert not dlg.train_button.isEnabled()
    qtbot.waitUntil(lambda: bool(done) or "stopped" in dlg.log.toPlainText(), timeout=600_000)
    assert done, dlg.log.toPlainText()
    name, summary = done[0]
    assert name == "gui-test-model" and "mean rank" in summary
    assert any("left" in s for s in stages)  # the time-left estimate is shown
    from supervisor_app.nets.model_store import resolve_model_dir

    card = json.loads((resolve_model_dir("gui-test-model") / "model_card.json").read_text())
    assert card["kind"] == "segvmnet" and card["segmentation"] == "shots"
    opts = CoreBackend().settings_options()
    assert "gui-test-model" in [v for v, _ in opts["model"]]
    assert "musimnet-demo" not in [v for v, _ in opts["model"]]  # a similarity model is not a video ranker
