"""The main window: player and timeline in the middle, recommendations / similar tracks / playlist docks.

Thin controller: it starts background jobs through the backend (one :class:`JobSlot` per kind of
job), shows their results and errors (one sentence in the status bar), and keeps the player, the
timeline and the selected candidate in step. It has no recommendation or editing logic of its own.

Keyboard: Space play/pause, J/K/L shuttle, M mark a sync point (Shift+M clears them), Up/Down move
between candidates, Enter previews, [ and ] move the music's start by a bar, Ctrl+Z / Ctrl+Shift+Z undo
and redo sync point changes, Ctrl+E exports, Ctrl+O opens a video, +/- zoom the timeline, Ctrl+T shows
frames on the ruler.

State: the selected candidate's edit, start, sync points and scores live in one Qt-free
:class:`~.session_model.SessionModel`; the header, the reasons, the table's Fit cell, the music lane
and the sync point list all redraw from its events, and an edit that arrives for older inputs is
dropped, so no view shows stale state.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QDockWidget, QFileDialog, QFrame,
                               QHBoxLayout, QLabel, QLineEdit, QMainWindow, QPushButton, QSplitter, QStackedWidget,
                               QStyle, QToolButton, QVBoxLayout, QWidget)

from supervisor_app.infra.errors import SupervisorError
from supervisor_app.gui.backend import Candidate, Preview, RecommendSettings, VideoAnalysis
from supervisor_app.gui.session_model import SessionModel, SyncPointError, fit_0_100, fit_of
from supervisor_app.gui.sync_points_panel import SyncPointsPanel
from supervisor_app.gui.wording import (
    FIT_SCALE_TIP,
    brief_explanation,
    model_choice_label,
    plain_message,
    plain_reasons,
)
from supervisor_app.gui.catalog_window import CatalogWindow
from supervisor_app.gui.export_dialog import ExportDialog
from supervisor_app.gui.player import Player, create_player
from supervisor_app.gui.playlist_panel import PlaylistPanel
from supervisor_app.gui.recommendations_panel import RecommendationsPanel
from supervisor_app.gui.similar_panel import SimilarPanel
from supervisor_app.gui.timeline import Timeline, TimelineTheme
from supervisor_app.gui.track_details import TrackDetails
from supervisor_app.gui.widgets import ElidedLabel, ProgressStrip, StageEta, fmt_time
from supervisor_app.gui.workers import Job, JobSlot, shutdown_jobs

log = logging.getLogger(__name__)

_SHUTTLE_SPEEDS = (1.0, 2.0, 4.0)
_REVERSE_STEP_MS = 100
_MESSAGE_MS = 12_000


class MainWindow(QMainWindow):
    """See the module docstring. ``backend``: :class:`~.backend.CoreBackend` or an object like it."""

    video_ready = Signal(object)  # VideoAnalysis
    recommendations_ready = Signal(list)
    preview_ready = Signal(object)  # Preview
    message_shown = Signal(str)
    mockup_decided = Signal(object)  # archive.MockupDecision

    def __init__(self, backend, settings: Optional[QSettings] = None, player: Optional[Player] = None,
                 auto_recommend: bool = True, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.backend = backend
        self.settings = settings if settings is not None else QSettings()
        self.auto_recommend = auto_recommend
        self.setWindowTitle("Supervisor")
        self.setAcceptDrops(True)
        self.resize(1360, 860)

        self.video: Optional[VideoAnalysis] = None
        self._provisional_picture: Optional[VideoAnalysis] = None  # quick cuts while the shots are detected
        self.video_info = None
        self.video_path: Optional[str] = None
        self.catalog = None
        # the selected candidate's state (edit, start, sync points, scores): every view follows it
        self.session = SessionModel()
        self._play_when_ready = False
        self._mockup_audio = True
        self._shuttle = 0  # 0 stopped / paused, >0 forward level, <0 reverse level
        self._reverse_timer = QTimer(self)
        self._reverse_timer.setInterval(_REVERSE_STEP_MS)
        self._reverse_timer.timeout.connect(self._reverse_step)
        self._export_dialog: Optional[ExportDialog] = None

        self.analysis_slot = JobSlot(self)
        self.envelope_slot = JobSlot(self)
        self._timeline_key = None  # the candidate whose edit the music lane shows
        self._last_job: Optional[Job] = None
        self.recommend_slot = JobSlot(self)
        self.similar_slot = JobSlot(self)
        self.preview_slot = JobSlot(self)
        self.brief_slot = JobSlot(self)
        self.decision_slot = JobSlot(self)

        self.player = player if player is not None else create_player(prefer=str(self.settings.value("player/backend", "vlc")))
        self.player.setParent(self)
        self._build_center()
        self._build_docks()
        self._build_status()
        self._build_actions()
        self._connect()
        self.catalog_window = CatalogWindow(backend, self)
        self.catalog_window.open_requested.connect(lambda p, create: self.open_catalog(p, create=create))
        self.catalog_window.catalog_modified.connect(self._catalog_modified)
        self.catalog_window.similar_requested.connect(self.find_similar)
        self.catalog_window.preview_requested.connect(self.preview_candidate)
        self.catalog_window.add_to_playlist_requested.connect(self.add_to_playlist)
        self.catalog_window.message.connect(self.notify)
        self._restore_settings()
        self._update_actions()

    # -- the session's state, read by tests and tools -------------------------------------------------
    @property
    def selected(self) -> Optional[Candidate]:
        return self.session.candidate

    @property
    def preview(self) -> Optional[Preview]:
        """The selected candidate's edit when it is ready and matches the current start and sync points."""
        return self.session.edit

    @property
    def sync_points(self) -> list[float]:
        return list(self.session.sync_points_s)

    # ================================================================================================
    # construction
    def _build_center(self) -> None:
        self.video_stack = QStackedWidget()
        self.drop_hint = QLabel("Drop a video here\n\nor File › Open video… (Ctrl+O)")
        self.drop_hint.setAlignment(Qt.AlignCenter)
        self.drop_hint.setObjectName("dropHint")
        self.drop_hint.setFrameShape(QFrame.StyledPanel)
        self.video_stack.addWidget(self.drop_hint)
        self.video_stack.addWidget(self.player.video_widget())

        bar = QWidget()
        bar.setObjectName("transport")
        tl = QHBoxLayout(bar)
        tl.setContentsMargins(8, 4, 8, 4)
        tl.setSpacing(6)
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(style.standardIcon(QStyle.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setAutoRaise(True)
        self.stop_button = QToolButton()
        self.stop_button.setIcon(style.standardIcon(QStyle.SP_MediaStop))
        self.stop_button.setToolTip("Back to the start")
        self.stop_button.setAutoRaise(True)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setObjectName("timeLabel")
        self.time_label.setMinimumWidth(130)
        self.now_playing = ElidedLabel("")
        self.now_playing.setObjectName("nowPlaying")
        self.mockup_check = QCheckBox("Mockup music")
        self.mockup_check.setChecked(True)
        self.mockup_check.setToolTip("Hear the selected candidate cut to the picture (off: the video's own sound)")
        self.sync_button = QPushButton("Mark sync (M)")
        self.sync_button.setToolTip("Mark a sync point at the playhead: the edit lands a downbeat on it")
        self.nudge_back = QToolButton()
        self.nudge_back.setText("◀ bar")
        self.nudge_back.setToolTip("Start the music one bar earlier ([)")
        self.nudge_fwd = QToolButton()
        self.nudge_fwd.setText("bar ▶")
        self.nudge_fwd.setToolTip("Start the music one bar later (])")
        self.zoom_out = QToolButton()
        self.zoom_out.setText("−")
        self.zoom_out.setToolTip("Zoom out the timeline (-)")
        self.zoom_in = QToolButton()
        self.zoom_in.setText("+")
        self.zoom_in.setToolTip("Zoom in the timeline (+)")
        self.zoom_fit = QToolButton()
        self.zoom_fit.setText("Fit")
        self.zoom_fit.setToolTip("Show the whole video (0)")
        for w in (self.play_button, self.stop_button, self.time_label):
            tl.addWidget(w)
        tl.addStretch(1)
        for w in (self.mockup_check, self.sync_button, self.nudge_back, self.nudge_fwd, _vline(), self.zoom_out,
                  self.zoom_in, self.zoom_fit):
            tl.addWidget(w)

        top = QWidget()
        vl = QVBoxLayout(top)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.setSpacing(0)
        vl.addWidget(self.video_stack, 1)
        # the selected candidate on its own line: title, start, splices and fit (or "updating")
        self.now_playing.setContentsMargins(8, 3, 8, 0)
        vl.addWidget(self.now_playing)
        vl.addWidget(bar)
        self.timeline = Timeline()
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

    def _build_docks(self) -> None:
        self.recommendations = RecommendationsPanel(self.backend.settings_options())
        # the device is found with torch (~1.6 s to import): not while the window is built, but beside the
        # first video's analysis, which imports it anyway
        self.recommendations.set_device("…")
        self.recommendations.device_label.setToolTip("Where the models run: checked when a video is opened")
        self.device_slot = JobSlot(self)
        self.similar_panel = SimilarPanel()
        try:
            self.similar_panel.set_models(self.backend.similarity_models())
        except (AttributeError, SupervisorError):
            pass
        self.playlist_panel = PlaylistPanel()
        self.sync_panel = SyncPointsPanel()
        self.details = TrackDetails()
        self.rec_dock = self._dock("Recommendations", self.recommendations, "recommendationsDock")
        self.similar_dock = self._dock("Similar tracks", self.similar_panel, "similarDock")
        self.playlist_dock = self._dock("Playlist", self.playlist_panel, "playlistDock")
        self.sync_dock = self._dock("Sync points", self.sync_panel, "syncPointsDock")
        self.details_dock = self._dock("Track details", self.details, "trackDetailsDock")
        self.addDockWidget(Qt.RightDockWidgetArea, self.rec_dock)
        self.addDockWidget(Qt.RightDockWidgetArea, self.playlist_dock)
        self.tabifyDockWidget(self.rec_dock, self.similar_dock)
        self.tabifyDockWidget(self.playlist_dock, self.details_dock)
        self.tabifyDockWidget(self.playlist_dock, self.sync_dock)
        self.rec_dock.raise_()
        self.playlist_dock.raise_()
        self._layout_pending = True  # first show without a saved layout: give the docks good sizes

    def _check_device(self) -> None:
        if self.device_slot.job is not None:
            return
        job = Job(lambda ctx: self.backend.device_name(), name="device check")
        job.succeeded.connect(self.recommendations.set_device)
        self.device_slot.start(job)

    def _dock(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
        return d

    def _build_status(self) -> None:
        sb = self.statusBar()
        sb.setSizeGripEnabled(True)
        self.job_strip = ProgressStrip(compact=True)
        self.job_strip.setMaximumWidth(420)
        self.job_strip.cancel_clicked.connect(self._cancel_status_jobs)
        self.catalog_label = QLabel("No catalog")
        self.backend_label = QLabel(f"Preview: {self.player.backend_name}")
        if not self.player.available:
            self.backend_label.setToolTip(getattr(self.player, "reason", ""))
        elif getattr(self.player, "audio_note", ""):  # said once here, and kept in the status bar
            self.backend_label.setText(f"Preview: {self.player.backend_name} (no sound)")
            self.backend_label.setToolTip(self.player.audio_note)
            QTimer.singleShot(0, lambda: self.notify(self.player.audio_note, error=False))
        self.model_label = QLabel()
        combo = self.recommendations.model_combo

        def show_model(_i=None):
            name = combo.currentData()
            self.model_label.setText(f"Model: {name}" if name else "Model: none (fit only)")
            self.model_label.setToolTip(combo.toolTip())

        combo.currentIndexChanged.connect(show_model)
        show_model()
        sb.addPermanentWidget(self.job_strip)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.catalog_label)
        sb.addPermanentWidget(self.backend_label)

    def _action(self, text: str, slot, shortcut=None, menu=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _=False: slot())
        self.addAction(a)
        if menu is not None:
            menu.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_open = self._action("Open video…", self._choose_video, QKeySequence.Open, f)
        self.act_catalog = self._action("Catalog…", self.show_catalog_window, "Ctrl+Shift+C", f,
                                        "Create or open a catalog, add music folders")
        self.act_import_metadata = self._action("Import metadata…", self.show_import_dialog, None, f,
                                                "Read a library's CSV/XLSX export (composer, publisher, ISRC, rights, "
                                                "tags) into the catalog")
        self.act_train = self._action("Train on your archive…", self.show_train_dialog, None, f,
                                      "Train Seg-VM-Net on your own music videos / past commercials")
        f.addSeparator()
        self.act_export = self._action("Export mockup…", self.show_export_dialog, "Ctrl+E", f,
                                       "Export the selected mockup as MP4, WAV, OTIO, FCP XML or EDL")
        f.addSeparator()
        self._action("Quit", self.close, QKeySequence.Quit, f)
        p = mb.addMenu("&Playback")
        self.act_play = self._action("Play / pause", self.toggle_play, "Space", p)
        self._action("Play backwards (J)", lambda: self.shuttle(-1), "J", p)
        self._action("Pause (K)", lambda: self.shuttle(0), "K", p)
        self._action("Play forwards (L)", lambda: self.shuttle(+1), "L", p)
        p.addSeparator()
        self.act_preview = self._action("Preview selected candidate", self.preview_current, ["Return", "Enter"], p)
        self._action("Next candidate", lambda: self._up_down(+1), "Down", p)
        self._action("Previous candidate", lambda: self._up_down(-1), "Up", p)
        p.addSeparator()
        self.act_sync = self._action("Mark sync point", self.mark_sync_point, "M", p)
        self._action("Clear sync points", self.clear_sync_points, "Shift+M", p)
        e = mb.addMenu("&Edit")
        self.act_undo = self._action("Undo sync point change", self.undo, QKeySequence.Undo, e)
        self.act_redo = self._action("Redo sync point change", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], e)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        e.addSeparator()
        self.act_approve = self._action("Approve this mockup", lambda: self.decide_mockup(True), "Ctrl+Shift+A", e,
                                        "Keep the mockup on screen in your archive as an approved pair of picture "
                                        "and music (it trains Seg-VM-Net on your choices)")
        self.act_reject = self._action("Reject this mockup", lambda: self.decide_mockup(False), "Ctrl+Shift+R", e,
                                       "Keep the mockup on screen in your archive as rejected (a counter-example "
                                       "used when models are measured)")
        self.act_nudge_back = self._action("Music starts a bar earlier", lambda: self.nudge_start(-1), "[", p)
        self.act_nudge_fwd = self._action("Music starts a bar later", lambda: self.nudge_start(+1), "]", p)
        v = mb.addMenu("&View")
        self._action("Zoom in", lambda: self.timeline.zoom(1.6), ["+", "="], v)
        self._action("Zoom out", lambda: self.timeline.zoom(1 / 1.6), "-", v)
        self._action("Whole video", self.timeline.reset_zoom, "0", v)
        self.act_frames = self._action("Ruler in frames", self._toggle_frames, "Ctrl+T", v,
                                       "Show the ruler and the time counter as minutes:seconds:frames")
        self.act_frames.setCheckable(True)
        pm = v.addMenu("Preview player")
        for key, label in (("qt", "Qt Multimedia"), ("vlc", "VLC")):
            a = pm.addAction(label)
            a.setCheckable(True)
            a.setChecked(self.player.backend_name == label)
            a.triggered.connect(lambda _=False, k=key, n=label: self._choose_player(k, n))
        v.addSeparator()
        for d in (self.rec_dock, self.similar_dock, self.playlist_dock, self.sync_dock, self.details_dock):
            v.addAction(d.toggleViewAction())
        h = mb.addMenu("&Help")
        self._action("Keyboard shortcuts", self._show_keys, None, h)

    def _connect(self) -> None:
        ev = self.session.events
        ev.rebuild_requested.connect(self._on_rebuild_requested)
        ev.edit.connect(lambda edit: self._on_edit(edit))
        ev.status.connect(self._on_session_status)
        ev.sync_points.connect(self._on_sync_points)
        ev.candidate.connect(lambda candidate: self._show_details(candidate))
        self.details.metadata_edited.connect(self.save_track_metadata)
        ev.message.connect(lambda text: self.notify(text))
        self.sync_panel.edit_requested.connect(self._sync_point_edit)
        self.sync_panel.undo_requested.connect(self.undo)
        self.sync_panel.redo_requested.connect(self.redo)
        self.sync_panel.add_requested.connect(self.mark_sync_point)
        pl = self.player
        pl.position_changed.connect(self._on_position)
        pl.state_changed.connect(self._on_player_state)
        pl.duration_changed.connect(lambda d: self.timeline.duration_s() or self.timeline.set_duration(d))
        pl.error.connect(self.notify)
        self.timeline.seek_requested.connect(self.seek)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(lambda: self.seek(0.0))
        self.mockup_check.toggled.connect(self._set_mockup_audio)
        self.sync_button.clicked.connect(self.mark_sync_point)
        self.nudge_back.clicked.connect(lambda: self.nudge_start(-1))
        self.nudge_fwd.clicked.connect(lambda: self.nudge_start(+1))
        self.zoom_in.clicked.connect(lambda: self.timeline.zoom(1.6))
        self.zoom_out.clicked.connect(lambda: self.timeline.zoom(1 / 1.6))
        self.zoom_fit.clicked.connect(self.timeline.reset_zoom)
        r = self.recommendations
        r.run_requested.connect(self.run_recommendations)
        r.brief_changed.connect(lambda _t: self.explain_brief())
        r.cancel_requested.connect(self.recommend_slot.cancel)
        r.candidate_selected.connect(self.select_candidate)
        r.preview_requested.connect(self.preview_candidate)
        r.similar_requested.connect(self.find_similar)
        r.add_to_playlist_requested.connect(self.add_to_playlist)
        s = self.similar_panel
        s.search_requested.connect(self._run_similar)
        s.cancel_requested.connect(self.similar_slot.cancel)
        s.candidate_selected.connect(self.select_candidate)
        s.preview_requested.connect(self.preview_candidate)
        s.add_to_playlist_requested.connect(self.add_to_playlist)
        self.playlist_panel.message.connect(self.notify)
        self.playlist_panel.export_requested.connect(self._choose_playlist_export)
        self.recommend_slot.busy_changed.connect(lambda b: self.recommendations.set_busy(b))
        self.similar_slot.busy_changed.connect(self.similar_panel.set_busy)
        self.analysis_slot.busy_changed.connect(self._status_jobs_changed)
        self.preview_slot.busy_changed.connect(self._status_jobs_changed)

    # ================================================================================================
    # messages
    def notify(self, sentence: str, error: bool = True) -> None:
        """Show one sentence in the status bar (errors stay longer)."""
        sentence = plain_message(" ".join(str(sentence).split()))
        self.statusBar().showMessage(sentence, _MESSAGE_MS if error else _MESSAGE_MS // 2)
        self.message_shown.emit(sentence)
        log.info("status: %s", sentence)

    def status_message(self) -> str:
        return self.statusBar().currentMessage()

    # ================================================================================================
    # video
    def _choose_video(self) -> None:
        start = str(self.settings.value("paths/video_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start,
                                              "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v *.mxf *.mpg *.mpeg);;All files (*)")
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> Job:
        """Probe and analyse a video in the background; the window keeps the old one if it fails."""
        path = str(Path(path).expanduser())
        backend = self.backend
        self._check_device()
        # a first list within seconds, ranked on quick cuts, when the ranking will start by itself
        provisional = self.auto_recommend and self.catalog is not None and self.recommendations.settings().provisional

        def run(ctx):
            ctx.progress(None, "Reading the video")
            info = backend.probe(path)
            if not info.has_video:
                from supervisor_app.infra.errors import NoVideoStreamError

                raise NoVideoStreamError(path)
            ctx.partial(("probed", info))
            extra = {"provisional": lambda va: ctx.partial(("provisional", va))} if provisional else {}
            return backend.analyze_video(path, progress=ctx.progress, should_cancel=ctx.should_cancel,
                                         partial=lambda va: ctx.partial(("partial", va)), **extra)

        job = Job(run, name="video analysis")
        job.partial.connect(lambda item: self._video_partial(path, item))
        eta = StageEta()
        job.progress.connect(lambda f, stage: self.job_strip.set_progress(f, eta.text(f, stage)))
        job.succeeded.connect(self._video_analysed)
        job.failed.connect(self._video_failed)
        job.cancelled.connect(lambda: self.notify("Video analysis cancelled.", error=False))
        self.job_strip.start(f"Opening {Path(path).name}")
        return self.analysis_slot.start(job)

    def _video_partial(self, path: str, item) -> None:
        kind, obj = item
        if kind == "probed":
            self._video_probed(path, obj)
        elif kind == "provisional" and path == self.video_path and self.video is None:
            # the picture's quick cuts at once (drawn provisional), then the shot detection's as they come
            self._provisional_picture = obj
            self.timeline.set_analysis(obj.duration_s, obj.cut_probs_25hz, obj.cuts_s, obj.shots_s, [],
                                       keep_view=True, provisional_from_s=0.0)
            self._provisional_recommendations(obj)
        elif kind == "partial" and path == self.video_path and self.video is None:
            # the shot detection so far: the cut curve and shots fill in while it runs
            q = self._provisional_picture
            if q is not None and q.path == obj.path:
                from supervisor_app.services.video_analysis import with_provisional_rest

                curve, cuts, shots, done_s = with_provisional_rest(obj.cut_probs_25hz, obj.cuts_s, q.cut_probs_25hz,
                                                                   q.cuts_s, obj.duration_s)
                self.timeline.set_analysis(obj.duration_s, curve, cuts, shots, [], keep_view=True,
                                           provisional_from_s=done_s)
            else:
                self.timeline.set_analysis(obj.duration_s, obj.cut_probs_25hz, obj.cuts_s, obj.shots_s, [],
                                           keep_view=True)

    def _video_probed(self, path: str, info) -> None:
        self.recommend_slot.cancel()
        self.preview_slot.cancel()
        self.video_path, self.video_info, self.video = path, info, None
        self._provisional_picture = None
        self.timeline.clear()
        self.session.reset(float(info.duration_s))
        self.sync_panel.set_duration(float(info.duration_s))
        self.timeline.set_duration(float(info.duration_s))
        self.timeline.set_frames(self.act_frames.isChecked(), getattr(info, "fps", None))
        self.recommendations.clear("Analysing the video…")
        self.player.load(path, None, video_has_audio=bool(info.has_audio))
        self.video_stack.setCurrentIndex(1)
        self.now_playing.setText("")
        self.setWindowTitle(f"{Path(path).name} — Supervisor")
        self.settings.setValue("paths/video_dir", str(Path(path).parent))
        self._update_time(0.0)
        self._update_actions()

    def _video_analysed(self, va: VideoAnalysis) -> None:
        self.video = va
        self._provisional_picture = None
        self.timeline.set_analysis(va.duration_s, va.cut_probs_25hz, va.cuts_s, va.shots_s, va.segments_s, va.threshold,
                                   keep_view=True)
        self.timeline.set_sync_points(self.sync_points)
        self._load_sound_envelope(va.path)
        n = len(va.cuts_s)
        self.notify(f"{Path(va.path).name}: {va.duration_s:.1f} s, {n} cut{'s' if n != 1 else ''}, "
                    f"{len(va.shots_s)} shot{'s' if len(va.shots_s) != 1 else ''}.", error=False)
        provisional = self.recommendations.is_provisional()  # kept until the final list replaces it
        if not provisional:
            self.recommendations.clear("Open a catalog to get recommendations." if self.catalog is None
                                       else "Press Find music to rank the catalog.")
        self.video_ready.emit(va)
        self._update_actions()
        # never start a job from a done-callback: defer to the event loop
        if provisional and self.auto_recommend and self.catalog is not None:
            QTimer.singleShot(0, lambda: self.run_recommendations())  # the final list replaces the provisional one
        elif self.session.candidate is not None:  # chosen while the video was analysed
            QTimer.singleShot(0, lambda: self.session.request_rebuild())
        elif self.auto_recommend and self.catalog is not None:
            QTimer.singleShot(0, lambda: self.run_recommendations())

    def _load_sound_envelope(self, path: str) -> None:
        """The production sound's waveform, computed in the background for the timeline's sound lane."""
        backend = self.backend
        if not hasattr(backend, "sound_envelope"):
            return
        job = Job(lambda ctx: (path, backend.sound_envelope(path, should_cancel=ctx.should_cancel)),
                  name="sound waveform")

        def done(result):
            p, env = result
            if p == self.video_path and env is not None:
                from supervisor_app.gui.backend import ENVELOPE_RATE_HZ

                self.timeline.set_sound_envelope(env, ENVELOPE_RATE_HZ)

        job.succeeded.connect(done)
        job.failed.connect(lambda sentence: log.info("no sound waveform: %s", sentence))
        self.envelope_slot.start(job)

    def _show_details(self, c: Optional[Candidate]) -> None:
        if c is None or c.track_id is None or self.catalog is None:
            self.details.show_candidate(c, {})
            return
        try:
            info = self.backend.track_details(self.catalog, int(c.track_id))
        except (SupervisorError, AttributeError) as e:
            info = {}
            log.info("no track details: %s", e)
        self.details.show_candidate(c, info)

    def save_track_metadata(self, track_id: int, texts: dict) -> bool:
        """Save the details pane's edits in the catalog; every view that shows the track follows."""
        if self.catalog is None:
            return False
        try:
            info = self.backend.set_track_metadata(self.catalog, int(track_id), texts)
        except SupervisorError as e:
            self.details.show_error(str(e))
            self.notify(str(e))
            return False
        shown = [c for c in (*self.recommendations.table.source.rows, *self.similar_panel.table.source.rows)
                 if c.track_id is not None and int(c.track_id) == int(track_id)]
        sel = self.session.candidate
        if sel is not None and sel.track_id is not None and int(sel.track_id) == int(track_id) and sel not in shown:
            shown.append(sel)
        try:
            self.backend.refresh_candidates(self.catalog, shown)
        except SupervisorError as e:
            log.info("candidates not refreshed: %s", e)
        self.recommendations.table.source.refresh()
        self.similar_panel.table.source.refresh()
        if self.catalog_window.catalog is not None:
            self.catalog_window.refresh()
        self.playlist_panel.refresh()
        if sel is not None and sel.track_id is not None and int(sel.track_id) == int(track_id):
            self.details.show_candidate(sel, info, keep_edits=False)
            self._refresh_candidate_views()
        names = ", ".join(k.replace("_", " ") for k in texts)
        self.notify(f"Saved {names} of {info.get('title') or 'the track'}.", error=False)
        return True

    def _video_failed(self, sentence: str) -> None:
        self.notify(sentence)
        self.job_strip.stop()
        if self.video_path is not None and self.video is None:
            self.recommendations.clear("The video could not be analysed.")

    # ================================================================================================
    # catalog
    def refresh_model_summaries(self) -> None:
        """The model menu's measured numbers, with the catalog's active model marked."""
        try:
            sums = self.backend.model_summaries(self.catalog)
        except (SupervisorError, AttributeError) as e:
            log.info("no model summaries: %s", e)
            return
        labels = {Path(m.path).name: model_choice_label(m) for m in sums}
        info = {Path(m.path).name: m.text() for m in sums}
        self.recommendations.set_model_summaries(labels, info)
        if getattr(self, "_train_dialog", None) is not None:
            self._train_dialog.set_models(sums)

    def show_import_dialog(self):
        """File › Import metadata…: check a library's spreadsheet against the catalog, then import it."""
        from supervisor_app.gui.import_dialog import ImportMetadataDialog

        if self.catalog is None:
            self.notify("Open a catalog first (File › Catalog…): the metadata goes into it.")
            return None
        dlg = getattr(self, "_import_dialog", None)
        if dlg is None or dlg.catalog_path != str(self.catalog.path):
            start = str(self.settings.value("paths/metadata_dir", str(Path.home())))
            dlg = ImportMetadataDialog(self.backend, str(self.catalog.path), self, start_dir=start)
            dlg.imported.connect(self._metadata_imported)
            self._import_dialog = dlg
        dlg.show()
        dlg.raise_()
        return dlg

    def _metadata_imported(self, report) -> None:
        """The catalog's metadata changed: every view that shows tracks reads it again."""
        self.settings.setValue("paths/metadata_dir", str(Path(report.file).parent))
        cands = [*self.recommendations.table.source.rows, *self.similar_panel.table.source.rows]
        try:
            self.backend.refresh_candidates(self.catalog, cands)
        except SupervisorError as e:
            log.info("candidates not refreshed: %s", e)
        self.recommendations.table.source.refresh()
        self.similar_panel.table.source.refresh()
        self.catalog_window.refresh()
        self.playlist_panel.refresh()
        self._show_details(self.session.candidate)
        self.notify(f"Imported metadata for {len(report.matched)} track(s) from {Path(report.file).name}.", error=False)

    def show_train_dialog(self) -> None:
        from supervisor_app.gui.train_dialog import TrainDialog

        if getattr(self, "_train_dialog", None) is None:
            self._train_dialog = TrainDialog(self.backend, self)
            self._train_dialog.model_trained.connect(self._model_trained)
        n_pairs = 0
        if self.catalog is not None:
            try:
                n_pairs = self.backend.archive_pair_count(self.catalog)
            except (SupervisorError, ImportError) as e:
                log.info("no archive pairs: %s", e)
        self._train_dialog.set_catalog(str(self.catalog.path) if self.catalog is not None else None, n_pairs)
        self.refresh_model_summaries()
        self._train_dialog.show()
        self._train_dialog.raise_()

    def _model_trained(self, name: str, summary: str) -> None:
        """A model was trained: list it with its numbers (archive models are named by the core: re-read)."""
        combo = self.recommendations.model_combo
        names = [name] if name else [Path(m.path).name for m in self.backend.model_summaries(self.catalog)
                                     if m.active]
        for n in names:
            if combo.findData(n) < 0:
                combo.addItem(f"{n} (segvmnet, trained here)", n)
            combo.setCurrentIndex(combo.findData(n))
        self.refresh_model_summaries()
        self.notify(summary, error=False)

    def show_catalog_window(self) -> None:
        self.catalog_window.show()
        self.catalog_window.raise_()
        self.catalog_window.activateWindow()

    def open_catalog(self, path: str | Path, create: bool = False) -> bool:
        """Open (or create) a catalog on the GUI thread; jobs open their own connections."""
        try:
            cat = self.backend.open_catalog(Path(path).expanduser(), create=create)
        except SupervisorError as e:
            self.notify(str(e))
            return False
        if self.catalog is not None:
            self.catalog.close()
        self.catalog = cat
        self.settings.setValue("catalog/path", str(cat.path))
        try:  # the CLI's default catalog too: `supervisor-app recommend` without --catalog uses this one
            from supervisor_app.infra.settings import remember_catalog

            remember_catalog(cat.path)
        except (OSError, SupervisorError) as e:
            log.info("catalog not remembered: %s", e)
        self.playlist_panel.set_catalog(cat)
        self.catalog_window.set_catalog(cat)
        self._catalog_modified()
        self.explain_brief()
        self.refresh_model_summaries()
        if self.video is not None and self.auto_recommend:
            QTimer.singleShot(0, lambda: self.run_recommendations())
        return True

    def _catalog_modified(self) -> None:
        if self.catalog is None:
            self.catalog_label.setText("No catalog")
            return
        try:
            n = self.catalog.count()
        except SupervisorError as e:
            self.notify(str(e))
            return
        self.catalog_label.setText(f"Catalog: {Path(self.catalog.path).stem} ({n} tracks)")
        self.catalog_label.setToolTip(str(self.catalog.path))
        self.playlist_panel.refresh()
        self._update_actions()

    # ================================================================================================
    # recommendations
    def _provisional_recommendations(self, picture) -> Optional[Job]:
        """A first list ranked on the picture's provisional cuts (fit only, on shots), while its shot detection
        runs; the final ranking (started when the analysis is done) replaces it."""
        settings = self.recommendations.settings()
        if (self.catalog is None or not self.auto_recommend or self.session.candidate is not None
                or settings.model or (settings.segmentation or "shots") != "shots"):
            return None
        return self.run_recommendations(settings, picture=picture)

    def run_recommendations(self, settings: Optional[RecommendSettings] = None, picture=None) -> Optional[Job]:
        """Rank the catalog for the video in the background; ``picture``: on this (provisional) analysis."""
        if self.video_path is None:
            self.notify("Open a video first.")
            return None
        if self.catalog is None:
            self.notify("Open a catalog first (File › Catalog…).")
            return None
        settings = settings or self.recommendations.settings()
        self.settings.setValue("recommend/settings", json.dumps(_settings_dict(settings)))
        video, cat_path, backend = self.video_path, str(self.catalog.path), self.backend
        sync = tuple(self.sync_points)
        self._ranked_sync = sync
        self.recommendations.table.source.set_fits_stale(False)
        current = self.video
        seg = settings.segmentation or "shots"

        def run(ctx):
            if picture is not None:
                return backend.recommend(video, cat_path, settings, progress=ctx.progress,
                                         should_cancel=ctx.should_cancel, partial=ctx.partial, sync_points_s=sync,
                                         picture=picture)
            if current is not None and current.segmentation != seg:  # show the segments this ranking uses
                ctx.partial(("video", backend.analyze_video(video, progress=ctx.progress,
                                                            should_cancel=ctx.should_cancel, segmentation=seg)))
            return backend.recommend(video, cat_path, settings, progress=ctx.progress, should_cancel=ctx.should_cancel,
                                     partial=ctx.partial, sync_points_s=sync)

        job = Job(run, name="recommendation")
        eta = StageEta()
        job.progress.connect(lambda f, stage: self.recommendations.set_progress(f, eta.text(f, stage)))
        job.partial.connect(self._recommendation_partial)
        job.succeeded.connect(self._recommendations_done)
        if picture is not None:  # a failed provisional list says nothing: the final ranking will, in its words
            job.failed.connect(lambda sentence: log.info("provisional recommendations: %s", sentence))
        else:
            job.failed.connect(self._recommendations_failed)
            job.cancelled.connect(lambda: self._recommendations_cancelled(job))
        if picture is None and self.recommendations.is_provisional():
            self.recommendations.set_refining()  # the provisional list stays until the final one arrives
        else:
            self.recommendations.clear("Ranking the catalog…")
        self.rec_dock.raise_()
        self.recommend_slot.start(job)
        return job

    def explain_brief(self) -> Optional[Job]:
        """Say under the brief field what the brief search understands of it (a background job)."""
        r = self.recommendations
        brief = r.brief_edit.text().strip()
        if not brief or self.catalog is None:
            self.brief_slot.cancel()
            r.set_brief_explanation("")
            return None
        cat_path, backend, filters = str(self.catalog.path), self.backend, r.filters.value()
        job = Job(lambda ctx: backend.explain_brief(cat_path, brief, filters, should_cancel=ctx.should_cancel),
                  name="brief")

        def done(info):
            if r.brief_edit.text().strip() == brief:  # never show the explanation of an older text
                r.set_brief_explanation(brief_explanation(info["understood"], info["not_understood"], info["notes"]))

        job.succeeded.connect(done)
        job.failed.connect(lambda sentence: r.set_brief_explanation(sentence))
        self.brief_slot.start(job)
        return job

    def _recommendation_partial(self, item) -> None:
        if isinstance(item, tuple) and item and item[0] == "video":
            va = item[1]
            if va.path == self.video_path:
                self.video = va
                self.timeline.set_analysis(va.duration_s, va.cut_probs_25hz, va.cuts_s, va.shots_s, va.segments_s,
                                           va.threshold)
            return
        self.recommendations.set_results(item, partial=True,
                                         provisional=any(getattr(c, "provisional", False) for c in item))

    def _recommendations_done(self, rows: list) -> None:
        if rows and all(getattr(c, "provisional", False) for c in rows):  # the final ranking follows
            self.recommendations.set_results(rows, provisional=True)
            return
        self.recommendations.set_results(rows)
        self.recommendations.set_excluded(getattr(rows, "excluded", []))
        self.notify(f"{len(rows)} recommendation{'s' if len(rows) != 1 else ''} for {Path(self.video_path).name}.",
                    error=False)
        self.recommendations_ready.emit(rows)

    def _recommendations_cancelled(self, job) -> None:
        if self.recommend_slot.job is job:  # not a ranking a newer job (a new picture's list) has replaced
            self.recommendations.set_refining_stopped()
        self.notify("Recommendation cancelled.", error=False)

    def _recommendations_failed(self, sentence: str) -> None:
        self.recommendations.clear(sentence)
        self.notify(sentence)

    # ================================================================================================
    # similar tracks
    def find_similar(self, seed: Candidate) -> None:
        """"More like this": similar tracks with the same filters as the recommendations."""
        if self.similar_panel.filters.is_empty():  # untouched: take the recommendations' filters
            self.similar_panel.filters.set_value(self.recommendations.filters.value())
        self.similar_dock.show()
        self.similar_dock.raise_()
        self.similar_panel.set_seed(seed, search=True)

    def _run_similar(self, seed: Candidate, k: int, filters: dict) -> Optional[Job]:
        if self.catalog is None:
            self.notify("Open a catalog first (File › Catalog…).")
            return None
        cat_path, backend = str(self.catalog.path), self.backend
        model = self.similar_panel.model()
        extra = {"model": model} if model is not None else {}
        job = Job(lambda ctx: backend.similar(seed, cat_path, k, filters, progress=ctx.progress,
                                              should_cancel=ctx.should_cancel, **extra), name="similar-track search")
        job.progress.connect(self.similar_panel.set_progress)
        job.succeeded.connect(self.similar_panel.set_results)
        job.failed.connect(self.notify)
        return self.similar_slot.start(job)

    # ================================================================================================
    # candidates and previews
    def select_candidate(self, c: Candidate) -> Optional[Job]:
        """Make ``c`` the current candidate: build its edit and music in the background."""
        if c is None:
            return None
        self._last_job = None
        if not self.session.select(c):  # the same track again (e.g. final results replacing partial ones)
            self._refresh_candidate_views()
        elif self.video_path is None:
            self.notify("Open a video to preview music against it.")
        return self._last_job

    def _on_rebuild_requested(self, candidate, sync_points_s, start_offset_s) -> None:
        """The session's edit is out of date: build the new one (the views show "updating" meanwhile)."""
        self._refresh_candidate_views()
        if self.video is None:  # still analysing: rebuilt once the video is ready
            return
        self._last_job = self._start_preview(candidate, start_offset_s, tuple(sync_points_s))

    def _start_preview(self, c: Candidate, start_offset_s: Optional[float], sync: tuple = ()) -> Job:
        video, backend = self.video, self.backend
        cat_path = str(self.catalog.path) if self.catalog is not None else None

        def run(ctx):
            return backend.prepare_preview(c, video, cat_path, sync_points_s=sync, start_offset_s=start_offset_s,
                                           progress=ctx.progress, should_cancel=ctx.should_cancel)

        job = Job(run, name="mockup preview")
        job.progress.connect(self.job_strip.set_progress)
        job.succeeded.connect(self._preview_ready)
        job.failed.connect(self._preview_failed)
        self.job_strip.start("Cutting the music to the picture")
        return self.preview_slot.start(job)

    def _cancel_status_jobs(self) -> None:
        """The status bar's Cancel: stops the video analysis and the mockup preview jobs."""
        self.analysis_slot.cancel()
        self.preview_slot.cancel()

    def _status_jobs_changed(self, _busy: bool = False) -> None:
        if not (self.analysis_slot.is_busy() or self.preview_slot.is_busy()):
            self.job_strip.stop()

    def _preview_ready(self, p: Preview) -> None:
        if not self.session.edit_ready(p):  # made for an older start / sync points / candidate: dropped
            return
        if self._play_when_ready:
            self._play_when_ready = False
            QTimer.singleShot(0, self._play_from_start)

    def _on_edit(self, edit: Preview) -> None:
        """A ready edit for the current inputs: the music lane, the player's music, header, reasons, table."""
        env = getattr(edit, "envelope", None)
        self.timeline.set_candidate(edit.excerpts, edit.downbeats_video_s, edit.pairs,
                                    envelope=env, envelope_rate_hz=getattr(edit, "envelope_rate_hz", 100.0),
                                    music_boundaries_s=getattr(edit, "music_boundaries_s", ()))
        if self._mockup_audio and edit.music_wav:
            self.player.set_music(edit.music_wav)  # keeps the picture's time and play state
        self._refresh_candidate_views()
        self.preview_ready.emit(edit)
        self._update_actions()

    def _on_session_status(self, status: str, note: str) -> None:
        if status == "updating":
            shown = self.timeline.excerpts and self.session.candidate is not None and self._timeline_key == self.session.candidate.key()
            self.timeline.set_music_updating(note or "Updating the edit…", keep=bool(shown))
        elif status == "empty":
            self.timeline.clear_candidate()
        elif status == "failed":
            self.timeline.clear_candidate()
        if status == "ready" and self.session.edit is not None:
            self._timeline_key = self.session.edit.candidate.key()
        elif status in ("empty", "failed"):
            self._timeline_key = None
        self._refresh_candidate_views()
        self._update_actions()

    def _refresh_candidate_views(self) -> None:
        """Header, reasons and the table's row: all from the session, so they always agree."""
        sm = self.session
        c = sm.candidate
        if c is None:
            self.now_playing.setText("")
            self.now_playing.setToolTip("")
            self.recommendations.show_candidate(None)
            return
        fit = fit_0_100(sm.fit_score())
        parts = [f"♪ {c.label}"]
        e = sm.edit
        if sm.status == "updating":
            parts.append("updating the edit…")
        elif sm.status == "failed":
            parts.append("no edit (see the status bar)")
        elif e is not None:
            if e.excerpts:
                parts.append(f"from {fmt_time(e.excerpts[0]['music_in_s'])}")
            n = max(0, len(e.excerpts) - 1)
            parts.append(f"{n} splice{'s' if n != 1 else ''}")
        if fit is not None:
            parts.append(f"fit {fit}/100")
        self.now_playing.setText("  ·  ".join(parts))
        self.now_playing.setToolTip("\n".join([c.label, c.path, *plain_reasons(c.reasons), "", FIT_SCALE_TIP]))
        lines = self.session_reasons()
        self.recommendations.show_candidate(c, lines, fit_override=(c.key(), sm.fit_score(), sm.status == "updating"))

    def session_reasons(self) -> list[str]:
        """The reasons panel's lines for the selected candidate: the edit shown first, then why it was chosen."""
        sm = self.session
        c = sm.candidate
        if c is None:
            return []
        e = sm.edit
        lines = []
        if sm.status == "updating":
            lines.append(sm.note or "Updating the edit…")
        elif e is not None:
            start = e.start_offset_s if e.start_offset_s is not None else (e.excerpts[0]["music_in_s"] if e.excerpts else 0.0)
            fit = fit_0_100(fit_of(e))
            sp = len(e.sync_points_s)
            lines.append(f"This edit: the music starts at {fmt_time(start)} in the track"
                         + (f", fit {fit}/100" if fit is not None else "")
                         + (f", {sp} sync point{'s' if sp != 1 else ''} honoured" if sp else "") + ".")
        changed = bool(sm.sync_points_s) or sm.start_offset_s() is not None
        for r in plain_reasons(c.reasons):
            if changed and (r.startswith("Fit ") or r.startswith("The music starts")):
                continue  # about the recommended edit, not the one shown now
            lines.append(r)
        return lines

    def _preview_failed(self, sentence: str) -> None:
        self._play_when_ready = False
        self.session.edit_failed(sentence)
        self.notify(sentence)

    def preview_candidate(self, c: Candidate) -> None:
        """Play the video from the start with ``c`` cut to the picture (Enter)."""
        if self.preview is not None and c.key() == self.preview.candidate.key():
            self._play_from_start()
            return
        self._play_when_ready = True
        if self.selected is not None and c.key() == self.selected.key():
            return  # its edit is being built: plays when ready
        self.select_candidate(c)

    def _up_down(self, step: int) -> None:
        """Up/Down: the next/previous candidate, unless a spin box or a list box has the keyboard."""
        fw = QApplication.focusWidget()
        if isinstance(fw, QAbstractSpinBox):
            fw.stepBy(-step)
        elif isinstance(fw, QComboBox):
            fw.setCurrentIndex(max(0, min(fw.count() - 1, fw.currentIndex() + step)))
        elif fw is not None and self.similar_panel.isAncestorOf(fw):
            self.similar_panel.table.move_selection(step)
        else:
            self.recommendations.move_selection(step)

    def preview_current(self) -> None:
        """Enter: preview the selected candidate; in a settings field, run that panel's search instead."""
        fw = QApplication.focusWidget()
        if isinstance(fw, (QLineEdit, QAbstractSpinBox)):
            if self.recommendations.isAncestorOf(fw):
                self.run_recommendations()
                return
            if self.similar_panel.isAncestorOf(fw):
                self.similar_panel.search_button.click()
                return
        if fw is not None and self.similar_panel.isAncestorOf(fw) and self.similar_panel.current() is not None:
            self.preview_candidate(self.similar_panel.current())
            return
        c = self.recommendations.current() if self.rec_dock.isVisible() else None
        c = c or self.selected
        if c is not None:
            self.preview_candidate(c)

    def _play_from_start(self) -> None:
        if not self.mockup_check.isChecked():
            self.mockup_check.setChecked(True)
        self.seek(0.0)
        self.play()

    def nudge_start(self, bars: int) -> Optional[Job]:
        """Move where the music starts by ``bars`` bars and rebuild the mockup (heard at once)."""
        self._last_job = None
        new = self.session.nudge(bars)
        if new is not None:
            self.notify(f"Music now starts at {fmt_time(new)} in the track.", error=False)
        return self._last_job

    def _set_mockup_audio(self, on: bool) -> None:
        self._mockup_audio = on
        if self.video_path is None:
            return
        self.player.set_music(self.preview.music_wav if on and self.preview is not None else None)

    # ================================================================================================
    # sync points
    def mark_sync_point(self) -> None:
        """M: a sync point at the playhead (refused, with a sentence, at the very start)."""
        if self.video_path is None:
            return
        try:
            t = self.session.add_sync_point(self.player.position_s())
        except SyncPointError as e:
            self.notify(str(e))
            return
        self.notify(f"Sync point at {fmt_time(t)}: the edit will land a downbeat there.", error=False)

    def clear_sync_points(self) -> None:
        self.session.clear_sync_points()

    def undo(self) -> None:
        if not self.session.undo():
            self.notify("Nothing to undo.", error=False)

    def redo(self) -> None:
        if not self.session.redo():
            self.notify("Nothing to redo.", error=False)

    def _on_sync_points(self, points_s) -> None:
        self.timeline.set_sync_points(points_s)
        self.recommendations.table.source.set_fits_stale(tuple(points_s) != getattr(self, "_ranked_sync", ()))
        self.sync_panel.set_points(points_s)
        self.act_undo.setEnabled(self.session.can_undo())
        self.act_redo.setEnabled(self.session.can_redo())

    def _sync_point_edit(self, op: str, index: int, t_s: float = 0.0) -> None:
        try:
            if op == "move":
                self.session.move_sync_point(index, t_s)
            elif op == "delete":
                self.session.remove_sync_point(index)
            elif op == "seek":
                self.seek(t_s)
        except SyncPointError as e:
            self.notify(str(e))
            self.sync_panel.set_points(self.session.sync_points_s)

    # ================================================================================================
    # playlist
    def add_to_playlist(self, c: Candidate) -> bool:
        if c.track_id is None:
            self.notify("Only catalog tracks can go in a playlist: add the file's folder to the catalog first.")
            return False
        src = self.preview if (self.preview is not None and self.preview.candidate.key() == c.key()) else c
        payload = self.backend.candidate_payload(src, self.video_path)
        note = f"for {Path(self.video_path).name}" if self.video_path else None
        ok = self.playlist_panel.add_track(c.track_id, note, payload)
        if ok:
            self.playlist_dock.show()
            self.notify(f"Added {c.label} to the playlist.", error=False)
        return ok

    def _choose_playlist_export(self, playlist_id: int, fmt: str) -> None:
        start = str(self.settings.value("paths/export_dir", str(Path.home())))
        name = self.playlist_panel.combo.currentText().rsplit("  (", 1)[0] or "playlist"
        path, _ = QFileDialog.getSaveFileName(self, "Export playlist", str(Path(start) / f"{name}.{fmt}"),
                                              f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export_playlist(playlist_id, fmt, path)

    def export_playlist(self, playlist_id: int, fmt: str, path: str | Path) -> Optional[Path]:
        try:
            out = self.backend.export_playlist(str(self.catalog.path), playlist_id, fmt, path)
        except SupervisorError as e:
            self.notify(str(e))
            return None
        self.settings.setValue("paths/export_dir", str(Path(out).parent))
        self.notify(f"Playlist written to {out}.", error=False)
        return out

    # ================================================================================================
    # mockup decisions (the archive's pairs)
    def decide_mockup(self, approved: bool, preview: Optional[Preview] = None) -> Optional[Job]:
        """Approve or reject the mockup on screen (or ``preview``): stored in the catalog's archive."""
        p = preview if preview is not None else self.preview
        if p is None or self.video_path is None:
            self.notify("Select a candidate and let its edit build first: the decision is about that mockup.")
            return None
        if self.catalog is None:
            self.notify("Open a catalog first (File › Catalog…): the archive lives in it.")
            return None
        backend, cat_path, video = self.backend, str(self.catalog.path), self.video_path
        job = Job(lambda ctx: backend.record_mockup_decision(cat_path, video, p, approved), name="mockup decision")
        label = p.candidate.label

        def done(d):
            word = "approved" if approved else "rejected"
            use = ("it is a training pair for “Train on your archive”" if approved else
                   "it is kept as a counter-example when models are measured")
            again = "" if getattr(d, "created", True) else " (your earlier decision on this edit was changed)"
            self.notify(f"Mockup {word}: {label} under {Path(video).name}; {use}{again}.", error=False)
            self.mockup_decided.emit(d)

        job.succeeded.connect(done)
        job.failed.connect(self.notify)
        self.decision_slot.start(job)
        return job

    # ================================================================================================
    # export
    def show_export_dialog(self) -> Optional[ExportDialog]:
        if self.preview is None or self.video_path is None:
            self.notify("Select a candidate first: the export is its mockup.")
            return None
        out_dir = str(self.settings.value("paths/export_dir", str(Path.home())))
        dlg = ExportDialog(self.backend, self.preview, self.video_path, out_dir, self)
        dlg.finished_files.connect(lambda files: files and self.settings.setValue("paths/export_dir", str(Path(files[0]).parent)))
        dlg.finished_files.connect(lambda files: self.notify(f"Exported {len(files)} file(s).", error=False))
        dlg.finished_files.connect(lambda files, p=self.preview: files and dlg.approve_check.isChecked()
                                   and self.decide_mockup(True, p))
        self._export_dialog = dlg
        dlg.show()
        return dlg

    # ================================================================================================
    # transport
    def play(self) -> None:
        if self.video_path is None:
            return
        self._stop_reverse()
        self.player.set_rate(1.0)
        self._shuttle = 1
        self.player.play()

    def pause(self) -> None:
        self._stop_reverse()
        self._shuttle = 0
        self.player.pause()

    def toggle_play(self) -> None:
        if self.player.is_playing() or self._reverse_timer.isActive():
            self.pause()
        else:
            self.play()

    def seek(self, t_s: float) -> None:
        self.player.seek(t_s)

    def shuttle(self, direction: int) -> None:
        """J/K/L: J plays backwards (faster on each press), K pauses, L plays forwards (faster on each press)."""
        if self.video_path is None:
            return
        if direction == 0:
            self.pause()
            return
        level = self._shuttle
        if direction > 0:
            level = 1 if level <= 0 else min(level + 1, len(_SHUTTLE_SPEEDS))
            self._stop_reverse()
            self.player.set_rate(_SHUTTLE_SPEEDS[level - 1])
            if not self.player.is_playing():
                self.player.play()
        else:
            level = -1 if level >= 0 else max(level - 1, -len(_SHUTTLE_SPEEDS))
            self.player.pause()
            self._reverse_timer.start()
        self._shuttle = level

    def _reverse_step(self) -> None:
        speed = _SHUTTLE_SPEEDS[-self._shuttle - 1] if self._shuttle < 0 else 1.0
        t = self.player.position_s() - speed * _REVERSE_STEP_MS / 1000.0
        if t <= 0:
            t = 0.0
            self._stop_reverse()
            self._shuttle = 0
        self.player.seek(t)

    def _stop_reverse(self) -> None:
        self._reverse_timer.stop()

    def _on_position(self, t_s: float) -> None:
        self.timeline.set_playhead(t_s)
        self._update_time(t_s)

    def _fps(self) -> Optional[float]:
        fps = self.video.fps if self.video is not None else (getattr(self.video_info, "fps", None) if self.video_info else None)
        return float(fps) if fps else None

    def _choose_player(self, key: str, name: str) -> None:
        self.settings.setValue("player/backend", key)
        self.notify(f"The preview will use {name} from the next start.", error=False)

    def _toggle_frames(self) -> None:
        self.timeline.set_frames(self.act_frames.isChecked(), self._fps())
        self._update_time(self.player.position_s())

    def _update_time(self, t_s: float) -> None:
        d = self.video.duration_s if self.video is not None else (self.video_info.duration_s if self.video_info else 0.0)
        fps = self._fps() if self.act_frames.isChecked() else None
        if fps:
            from supervisor_app.gui.timeline import timecode

            self.time_label.setText(f"{timecode(t_s, fps)} / {timecode(d, fps)}")
        else:
            self.time_label.setText(f"{fmt_time(t_s)} / {fmt_time(d)}")

    def _on_player_state(self, state: str) -> None:
        icon = QStyle.SP_MediaPause if state == "playing" else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        if state in ("ended", "stopped"):
            self._shuttle = 0

    # ================================================================================================
    # misc
    def _update_actions(self) -> None:
        has_video = self.video_path is not None
        has_preview = self.preview is not None
        self.act_export.setEnabled(has_preview)
        for a in (self.act_approve, self.act_reject):
            a.setEnabled(has_preview and self.catalog is not None)
        for w in (self.play_button, self.stop_button, self.sync_button):
            w.setEnabled(has_video)
        for w in (self.nudge_back, self.nudge_fwd):
            w.setEnabled(has_preview)
        self.recommendations.run_button.setEnabled(has_video and self.catalog is not None
                                                   and not self.recommend_slot.is_busy())

    def _show_keys(self) -> None:
        self.notify("Space play/pause · J/K/L shuttle · M sync point · ↑/↓ candidates · Enter preview · "
                    "[ ] move the music by a bar · Ctrl+Z/Ctrl+Shift+Z undo/redo sync points · Ctrl+E export · "
                    "+/−/0 zoom · Ctrl+T ruler in frames", error=False)

    def dragEnterEvent(self, ev):  # noqa: N802 (Qt API)
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev):  # noqa: N802 (Qt API)
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            self.open_dropped(files[0])

    def open_dropped(self, path: str) -> None:
        """A dropped file: a video opens; an audio file is previewed against the open video."""
        if self.video is not None and self._is_audio(path):
            name = Path(path).stem
            track = None
            if self.catalog is not None:
                try:
                    track = self.catalog.find_by_path(path)
                except SupervisorError:
                    track = None
            c = Candidate(track_id=track.id if track else None, path=str(path), title=(track.title if track else None) or name,
                          artist=(track.artist if track else "") or "", duration_s=track.duration_s if track else None,
                          source="file", raw=track)
            self.preview_candidate(c)
            return
        self.open_video(path)

    def _is_audio(self, path: str) -> bool:
        try:
            from supervisor_app.media import AUDIO_EXTENSIONS  # the extension list only, no decoding

            return Path(path).suffix.lower() in AUDIO_EXTENSIONS
        except ImportError:
            return False

    def showEvent(self, ev):  # noqa: N802 (Qt API)
        super().showEvent(ev)
        if self._layout_pending:
            self._layout_pending = False
            QTimer.singleShot(0, self._initial_layout)

    def _initial_layout(self) -> None:
        """Dock and splitter sizes for a first start (later starts restore the saved layout)."""
        if True:
            w = max(460, int(self.width() * 0.36))
            self.resizeDocks([self.rec_dock], [w], Qt.Horizontal)
            self.resizeDocks([self.rec_dock, self.playlist_dock], [int(self.height() * 0.6), int(self.height() * 0.3)],
                             Qt.Vertical)
            self.splitter.setSizes([int(self.height() * 0.55), int(self.height() * 0.45)])

    def _restore_settings(self) -> None:
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None and self.restoreState(state):
            self._layout_pending = False
        raw = self.settings.value("recommend/settings")
        if raw:
            try:
                self.recommendations.set_settings(json.loads(raw))
            except (ValueError, TypeError):
                pass

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("recommend/settings", json.dumps(_settings_dict(self.recommendations.settings())))
        self.settings.sync()

    def set_timeline_theme(self, dark: bool) -> None:
        self.timeline.apply_theme(TimelineTheme() if dark else TimelineTheme.light())

    def closeEvent(self, ev):  # noqa: N802 (Qt API)
        self.save_settings()
        for slot in (self.analysis_slot, self.recommend_slot, self.similar_slot, self.preview_slot, self.envelope_slot,
                     self.brief_slot):
            slot.cancel()
        self.catalog_window.slot.cancel()
        if self._export_dialog is not None:
            self._export_dialog.slot.cancel()
        shutdown_jobs(timeout_s=3.0)
        self.player.close()
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        self.catalog_window.close()
        super().closeEvent(ev)


def _settings_dict(s: RecommendSettings) -> dict:
    return {"model": s.model, "segmentation": s.segmentation, "distance": s.distance, "rank_by": s.rank_by,
            "k": s.k, "filters": s.filters, "brief": s.brief, "provisional": s.provisional}


def _vline() -> QFrame:
    f = QFrame()
    f.setFrameShape(QFrame.VLine)
    f.setFrameShadow(QFrame.Sunken)
    return f
