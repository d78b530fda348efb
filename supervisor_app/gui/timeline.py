"""The timeline under the player (pyqtgraph): the video's structure and the selected candidate's edit.

Lanes, top to bottom, on one time axis in seconds:

* **cuts** — the TransNetV2 cut probability (25 Hz) with the shot threshold, detected cuts as lines;
* **shots** — the shots, alternating shades;
* **segments** — the video segments used for matching;
* **music** — the candidate's music excerpts laid under the picture (label: music in–out), its
  downbeats mapped to video time (ticks) and the splices (lines through every lane);
* **match** — the alignment's segment pairs (music segment i ↔ video segment j), one colour per music
  segment.

Sync points (orange) and the playhead (movable) run through every lane. Clicking seeks, dragging the
playhead scrubs, the mouse wheel zooms and dragging the background pans (time axis only).
Signals: ``seek_requested(t_s)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPicture, QBrush
from PySide6.QtWidgets import QVBoxLayout, QWidget

# Lane geometry in view coordinates (y): (top, bottom, label)
LANE_CUTS = (1.0, 0.0, "cuts")
LANE_SHOTS = (-0.15, -0.45, "shots")
LANE_SEGMENTS = (-0.55, -0.85, "segments")
LANE_MUSIC = (-1.0, -1.45, "music")
LANE_MATCH = (-1.55, -1.85, "match")
_Y_MIN, _Y_MAX = -1.95, 1.08


@dataclass
class TimelineTheme:
    """Colours of the timeline (dark or light)."""

    dark: bool = True
    background: str = "#1e2127"
    foreground: str = "#c9ced6"
    grid: str = "#3a3f4b"
    curve: str = "#5aa9e6"
    curve_fill: str = "#5aa9e640"
    threshold: str = "#8a93a3"
    cut: str = "#e06c75"
    shot_a: str = "#3d4f66"
    shot_b: str = "#4c6380"
    segment_a: str = "#3f5e4a"
    segment_b: str = "#527a60"
    excerpt: str = "#7b5ea7"
    excerpt_pen: str = "#b598e0"
    downbeat: str = "#e5c07b"
    splice: str = "#ff5c8a"
    sync: str = "#ff9f1c"
    playhead: str = "#f5f5f5"
    match: Sequence[str] = field(default_factory=lambda: (
        "#5aa9e6", "#98c379", "#e5c07b", "#c678dd", "#56b6c2", "#e06c75", "#d19a66", "#61afef"))

    @classmethod
    def light(cls) -> "TimelineTheme":
        return cls(dark=False, background="#fbfbfc", foreground="#2b2f36", grid="#d5d8de", curve="#1f6fb2",
                   curve_fill="#1f6fb230", threshold="#7a8290", cut="#c0392b", shot_a="#c9d6e8", shot_b="#a9bfdc",
                   segment_a="#c8e0cf", segment_b="#a6cdb2", excerpt="#b7a2d9", excerpt_pen="#6a4c9c",
                   downbeat="#a67c00", splice="#d6336c", sync="#e07b00", playhead="#111111",
                   match=("#1f6fb2", "#3f8f3a", "#b08800", "#8e44ad", "#138496", "#c0392b", "#b9770e", "#2e86c1"))


class TimeAxis(pg.AxisItem):
    """Bottom axis labelled m:ss(.s)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        out = []
        for v in values:
            v = max(0.0, float(v))
            m, s = divmod(v, 60.0)
            out.append(f"{int(m)}:{s:04.1f}" if spacing < 1 else f"{int(m)}:{int(round(s)):02d}")
        return out


class LaneAxis(pg.AxisItem):
    """Left axis naming the lanes instead of showing numbers."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        lanes = [LANE_CUTS, LANE_SHOTS, LANE_SEGMENTS, LANE_MUSIC, LANE_MATCH]
        self.setTicks([[((top + bottom) / 2, name) for top, bottom, name in lanes], []])


class RectsItem(pg.GraphicsObject):
    """Many filled rectangles drawn from one cached picture: rows of (x0, x1, y0, y1, fill, pen)."""

    def __init__(self):
        super().__init__()
        self._rects: list = []
        self._picture = QPicture()
        self._bounds = QRectF()

    def set_rects(self, rects: list) -> None:
        self.prepareGeometryChange()
        self._rects = list(rects)
        pic = QPicture()
        p = QPainter(pic)
        xs0, xs1, ys0, ys1 = [], [], [], []
        for x0, x1, y0, y1, fill, pen in self._rects:
            qpen = QPen(QColor(pen)) if pen else QPen(Qt.NoPen)
            qpen.setCosmetic(True)
            p.setPen(qpen)
            p.setBrush(QBrush(QColor(fill)))
            p.drawRect(QRectF(QPointF(x0, y1), QPointF(x1, y0)))
            xs0.append(x0), xs1.append(x1), ys0.append(min(y0, y1)), ys1.append(max(y0, y1))
        p.end()
        self._picture = pic
        self._bounds = QRectF(min(xs0), min(ys0), max(xs1) - min(xs0), max(ys1) - min(ys0)) if xs0 else QRectF()
        self.update()

    def rects(self) -> list:
        return list(self._rects)

    def paint(self, painter, *args):
        self._picture.play(painter)

    def boundingRect(self):  # noqa: N802 (Qt API)
        return self._bounds


def _vlines(xs, y0: float, y1: float):
    """x, y arrays drawing one vertical segment per x (for PlotDataItem connect='pairs')."""
    xs = np.asarray(xs, dtype=float).ravel()
    x = np.repeat(xs, 2)
    y = np.tile([y0, y1], len(xs))
    return x, y


class Timeline(QWidget):
    """The timeline widget (see the module docstring)."""

    seek_requested = Signal(float)

    def __init__(self, parent: Optional[QWidget] = None, theme: Optional[TimelineTheme] = None):
        super().__init__(parent)
        self.theme = theme or TimelineTheme()
        self._duration_s = 0.0
        self._updating_playhead = False
        self._follow = True
        self.cuts_s = np.zeros(0)
        self.shots_s: list = []
        self.segments_s: list = []
        self.sync_points_s: list[float] = []
        self.excerpts: list = []
        self.downbeats_video_s = np.zeros(0)
        self.splices_s = np.zeros(0)
        self.pairs: list = []

        self.plot = pg.PlotWidget(axisItems={"bottom": TimeAxis("bottom"), "left": LaneAxis("left")})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        pi = self.plot.getPlotItem()
        pi.setClipToView(True)
        vb = pi.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(_Y_MIN, _Y_MAX, padding=0)
        vb.setLimits(yMin=_Y_MIN, yMax=_Y_MAX, xMin=0.0)
        pi.getAxis("left").setWidth(70)
        self.plot.setMinimumHeight(170)

        self.curve = pg.PlotDataItem()
        self.threshold_line = pg.InfiniteLine(pos=0.5, angle=0, movable=False)
        self.cut_lines = pg.PlotDataItem(connect="pairs")
        self.shot_rects = RectsItem()
        self.segment_rects = RectsItem()
        self.excerpt_rects = RectsItem()
        self.match_rects = RectsItem()
        self.downbeat_lines = pg.PlotDataItem(connect="pairs")
        self.splice_lines = pg.PlotDataItem(connect="pairs")
        self.sync_lines = pg.PlotDataItem(connect="pairs")
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True)
        self.playhead.setZValue(100)
        self._labels: list[pg.TextItem] = []
        for item in (self.shot_rects, self.segment_rects, self.excerpt_rects, self.match_rects, self.curve,
                     self.threshold_line, self.cut_lines, self.downbeat_lines, self.splice_lines, self.sync_lines,
                     self.playhead):
            pi.addItem(item)
        self.playhead.sigPositionChanged.connect(self._on_playhead_dragged)
        self.plot.scene().sigMouseClicked.connect(self._on_click)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.apply_theme(self.theme)

    # -- look -----------------------------------------------------------------------------------
    def apply_theme(self, theme: TimelineTheme) -> None:
        self.theme = t = theme
        self.plot.setBackground(t.background)
        pi = self.plot.getPlotItem()
        for name in ("bottom", "left"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen(t.grid))
            ax.setTextPen(pg.mkPen(t.foreground))
        pi.showGrid(x=True, y=False, alpha=0.25)
        self.curve.setPen(pg.mkPen(t.curve, width=1.5))
        self.curve.setFillLevel(0.0)
        self.curve.setBrush(pg.mkBrush(t.curve_fill))
        self.threshold_line.setPen(pg.mkPen(t.threshold, width=1, style=Qt.DashLine))
        self.cut_lines.setPen(pg.mkPen(t.cut, width=1.5))
        self.downbeat_lines.setPen(pg.mkPen(t.downbeat, width=1))
        self.splice_lines.setPen(pg.mkPen(t.splice, width=2))
        self.sync_lines.setPen(pg.mkPen(t.sync, width=2, style=Qt.DashLine))
        self.playhead.setPen(pg.mkPen(t.playhead, width=2))
        self.playhead.setHoverPen(pg.mkPen(t.sync, width=3))
        self._redraw_lanes()

    # -- data ---------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything (a new video)."""
        self._duration_s = 0.0
        self.curve.setData([], [])
        self.cuts_s = np.zeros(0)
        self.shots_s, self.segments_s, self.sync_points_s = [], [], []
        self.clear_candidate()
        self._redraw_lanes()
        self.set_playhead(0.0)

    def set_duration(self, duration_s: float) -> None:
        self._duration_s = float(max(duration_s, 0.0))
        vb = self.plot.getPlotItem().getViewBox()
        if self._duration_s > 0:
            vb.setLimits(xMin=0.0, xMax=self._duration_s, minXRange=min(0.5, self._duration_s))
            vb.setXRange(0.0, self._duration_s, padding=0.0)

    def duration_s(self) -> float:
        return self._duration_s

    def set_analysis(self, duration_s: float, cut_probs_25hz: np.ndarray, cuts_s: Sequence[float],
                     shots_s: Sequence[tuple[float, float]], segments_s: Optional[Sequence[tuple[float, float]]] = None,
                     threshold: float = 0.5) -> None:
        """Show a video's structure: cut curve at 25 Hz, cuts (s), shots and segments as (start_s, end_s)."""
        self.set_duration(duration_s)
        probs = np.asarray(cut_probs_25hz, dtype=float).ravel()
        t = np.arange(probs.size) / 25.0
        self.curve.setData(t, probs)
        self.threshold_line.setValue(threshold)
        self.cuts_s = np.asarray(cuts_s, dtype=float).ravel()
        self.shots_s = [(float(a), float(b)) for a, b in shots_s]
        self.segments_s = [(float(a), float(b)) for a, b in (segments_s if segments_s is not None else shots_s)]
        self._redraw_lanes()

    def set_candidate(self, excerpts: Sequence, downbeats_video_s: Sequence[float] = (),
                      pairs: Sequence[dict] = ()) -> None:
        """Overlay a candidate's edit.

        ``excerpts``: objects or dicts with video_start_s, video_end_s, music_in_s, music_out_s; the
        splices are the starts of excerpts after the first. ``downbeats_video_s``: the music's downbeats
        mapped to video time (s). ``pairs``: dicts {music_start_s, music_end_s, video_start_s, video_end_s,
        optional music_index / video_index} from the alignment.
        """
        self.excerpts = [_as_dict(e) for e in excerpts]
        self.splices_s = np.array([e["video_start_s"] for e in self.excerpts[1:]], dtype=float)
        self.downbeats_video_s = np.asarray(downbeats_video_s, dtype=float).ravel()
        self.pairs = [dict(p) for p in pairs]
        self._redraw_lanes()

    def clear_candidate(self) -> None:
        self.excerpts, self.pairs = [], []
        self.splices_s = np.zeros(0)
        self.downbeats_video_s = np.zeros(0)
        self._redraw_lanes()

    def set_sync_points(self, points_s: Sequence[float]) -> None:
        self.sync_points_s = sorted(float(p) for p in points_s)
        x, y = _vlines(self.sync_points_s, _Y_MIN, _Y_MAX)
        self.sync_lines.setData(x, y)

    # -- playhead -----------------------------------------------------------------------------------
    def set_playhead(self, t_s: float) -> None:
        """Move the playhead (from the player) without asking for a seek; the view follows it."""
        self._updating_playhead = True
        try:
            self.playhead.setValue(float(t_s))
        finally:
            self._updating_playhead = False
        if self._follow and self._duration_s > 0:
            vb = self.plot.getPlotItem().getViewBox()
            (x0, x1), _ = vb.viewRange()
            if not (x0 <= t_s <= x1):
                w = x1 - x0
                start = min(max(0.0, t_s - 0.1 * w), max(0.0, self._duration_s - w))
                vb.setXRange(start, start + w, padding=0.0)

    def playhead_s(self) -> float:
        return float(self.playhead.value())

    def zoom(self, factor: float, center_s: Optional[float] = None) -> None:
        """Zoom the time axis by ``factor`` (> 1 zooms in) around ``center_s`` (default: the playhead)."""
        vb = self.plot.getPlotItem().getViewBox()
        c = self.playhead_s() if center_s is None else center_s
        vb.scaleBy(x=1.0 / factor, center=QPointF(c, 0.0))

    def view_range_s(self) -> tuple[float, float]:
        (x0, x1), _ = self.plot.getPlotItem().getViewBox().viewRange()
        return float(x0), float(x1)

    def reset_zoom(self) -> None:
        if self._duration_s > 0:
            self.plot.getPlotItem().getViewBox().setXRange(0.0, self._duration_s, padding=0.0)

    def _on_playhead_dragged(self) -> None:
        if not self._updating_playhead:
            t = min(max(0.0, float(self.playhead.value())), self._duration_s or float("inf"))
            self.seek_requested.emit(t)

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.LeftButton or ev.double():
            return
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        t = float(vb.mapSceneToView(ev.scenePos()).x())
        if self._duration_s > 0:
            t = min(max(0.0, t), self._duration_s)
            self.seek_requested.emit(t)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw_lanes(self) -> None:
        t = self.theme
        x, y = _vlines(self.cuts_s, LANE_CUTS[1], LANE_CUTS[0])
        self.cut_lines.setData(x, y)
        self.shot_rects.set_rects(_alternating(self.shots_s, LANE_SHOTS, t.shot_a, t.shot_b))
        self.segment_rects.set_rects(_alternating(self.segments_s, LANE_SEGMENTS, t.segment_a, t.segment_b))
        top, bottom, _ = LANE_MUSIC
        self.excerpt_rects.set_rects([(e["video_start_s"], e["video_end_s"], top - 0.03, bottom + 0.03,
                                       t.excerpt, t.excerpt_pen) for e in self.excerpts])
        x, y = _vlines(self.downbeats_video_s, top - 0.03, top - 0.16)
        self.downbeat_lines.setData(x, y)
        x, y = _vlines(self.splices_s, LANE_MATCH[1], LANE_CUTS[0])
        self.splice_lines.setData(x, y)
        rects = []
        for k, p in enumerate(self.pairs):
            idx = int(p.get("music_index", p.get("music_segment", k)))
            color = QColor(t.match[idx % len(t.match)])
            color.setAlpha(170)
            rects.append((float(p["video_start_s"]), float(p["video_end_s"]), LANE_MATCH[0], LANE_MATCH[1],
                          color, t.background))
        self.match_rects.set_rects(rects)
        self._draw_labels()
        self.set_sync_points(self.sync_points_s)

    def _draw_labels(self) -> None:
        pi = self.plot.getPlotItem()
        for item in self._labels:
            pi.removeItem(item)
        self._labels = []
        top, bottom, _ = LANE_MUSIC
        for e in self.excerpts:
            label = pg.TextItem(f"{_mmss(e['music_in_s'])}–{_mmss(e['music_out_s'])}", color=self.theme.foreground,
                                anchor=(0, 0.5))
            label.setPos(e["video_start_s"], (top + bottom) / 2 - 0.05)
            pi.addItem(label)
            self._labels.append(label)

    # -- for tests and tools -----------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts of what is drawn (for tests and the status bar)."""
        return {
            "duration_s": self._duration_s,
            "curve_points": 0 if self.curve.xData is None else int(len(self.curve.xData)),
            "cuts": int(self.cuts_s.size),
            "shots": len(self.shots_s),
            "segments": len(self.segments_s),
            "excerpts": len(self.excerpts),
            "splices": int(self.splices_s.size),
            "downbeats": int(self.downbeats_video_s.size),
            "pairs": len(self.pairs),
            "sync_points": len(self.sync_points_s),
        }


def _alternating(spans, lane, color_a: str, color_b: str) -> list:
    top, bottom, _ = lane
    return [(a, b, top, bottom, color_a if i % 2 == 0 else color_b, None) for i, (a, b) in enumerate(spans)]


def _as_dict(e) -> dict:
    if isinstance(e, dict):
        return {k: e[k] for k in ("video_start_s", "video_end_s", "music_in_s", "music_out_s")}
    return {k: float(getattr(e, k)) for k in ("video_start_s", "video_end_s", "music_in_s", "music_out_s")}


def _mmss(t_s: float) -> str:
    m, s = divmod(max(0.0, float(t_s)), 60.0)
    return f"{int(m)}:{s:04.1f}"
