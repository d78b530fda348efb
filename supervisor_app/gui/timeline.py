"""The timeline under the player (pyqtgraph): the video's structure and the selected candidate's edit.

A time ruler (m:ss, m:ss.s zoomed in, or m:ss:ff frames on demand) on top, then lanes, top to
bottom, on one time axis in seconds:

* **cuts** — the TransNetV2 cut probability (25 Hz) with the shot threshold, detected cuts as lines;
* **shots** — the shots, alternating shades;
* **sound** — the production sound's waveform;
* **segments** — the video segments used for matching;
* **music** — the candidate's music excerpts laid under the picture with the edited music's waveform,
  labels (music in–out; elided or hidden when narrow, never overlapping), its downbeats mapped to
  video time (ticks), the splices (lines through every lane) and, along the lane's foot, the track's
  sections where they play ("Section 2", numbered in the track's order, a tick where one begins; a
  repeat shows the same number again); "updating" while an edit is rebuilt;
* **match** — the alignment's segment pairs (music segment i ↔ video segment j), one colour per music
  segment.

Every vertical mark (cuts, downbeats, splices, sync points) is one segment per time, drawn for the
lines in view, so it stays vertical at its time at every zoom (:class:`VLinesItem`).

Sync points (orange) and the playhead (movable) run through every lane. Clicking seeks, dragging the
playhead scrubs, the mouse wheel zooms and dragging the background pans (time axis only).
Signals: ``seek_requested(t_s)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QPicture, QPolygonF
from PySide6.QtWidgets import QVBoxLayout, QWidget

# Lane geometry in view coordinates (y): (top, bottom, label)
LANE_CUTS = (1.0, 0.0, "cuts")
LANE_SHOTS = (-0.1, -0.38, "shots")
LANE_SOUND = (-0.46, -0.86, "sound")
LANE_SEGMENTS = (-0.94, -1.16, "segments")
LANE_MUSIC = (-1.26, -1.9, "music")
LANE_MATCH = (-1.98, -2.22, "match")
_Y_MIN, _Y_MAX = -2.3, 1.06
_LABEL_STRIP = 0.2  # the music lane's top strip holds the excerpt labels, the waveform is below
_SECTION_STRIP = 0.16  # ... and its foot the track's section labels


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
    wave: str = "#7f8a9c"
    music_wave: str = "#e8dcff"
    match: Sequence[str] = field(default_factory=lambda: (
        "#5aa9e6", "#98c379", "#e5c07b", "#c678dd", "#56b6c2", "#e06c75", "#d19a66", "#61afef"))

    @classmethod
    def light(cls) -> "TimelineTheme":
        return cls(dark=False, background="#fbfbfc", foreground="#2b2f36", grid="#d5d8de", curve="#1f6fb2",
                   curve_fill="#1f6fb230", threshold="#7a8290", cut="#c0392b", shot_a="#c9d6e8", shot_b="#a9bfdc",
                   segment_a="#c8e0cf", segment_b="#a6cdb2", excerpt="#b7a2d9", excerpt_pen="#6a4c9c",
                   downbeat="#a67c00", splice="#d6336c", sync="#e07b00", playhead="#111111",
                   wave="#8a93a3", music_wave="#3d2466",
                   match=("#1f6fb2", "#3f8f3a", "#b08800", "#8e44ad", "#138496", "#c0392b", "#b9770e", "#2e86c1"))


# nice ruler intervals (s): frames are added on demand below one second
_TICK_STEPS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


def timecode(t_s: float, fps: Optional[float] = None) -> str:
    """m:ss (h:mm:ss past an hour); with ``fps``, ``m:ss:ff`` frames (SMPTE-style, non-drop)."""
    t_s = max(0.0, float(t_s))
    if fps:
        frames = int(round(t_s * fps))
        f = int(round(fps))
        sec, ff = divmod(frames, f)
        h, rem = divmod(sec, 3600)
        m, s = divmod(rem, 60)
        return f"{h}:{m:02d}:{s:02d}:{ff:02d}" if h else f"{m}:{s:02d}:{ff:02d}"
    h, rem = divmod(t_s, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h)}:{int(m):02d}:{int(s):02d}" if h >= 1 else f"{int(m)}:{int(s):02d}"


class TimeAxis(pg.AxisItem):
    """The time ruler: ticks at round intervals (0.1 s to 1 h) labelled m:ss, m:ss.s when zoomed in,
    or m:ss:ff frames when ``frames`` is on (``fps`` set from the video)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.fps: float = 25.0
        self.frames = False

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        span = max(float(maxVal) - float(minVal), 1e-9)
        px_per_s = max(float(size), 1.0) / span
        steps = list(_TICK_STEPS_S)
        if self.frames and self.fps:
            steps = [1.0 / self.fps, 2.0 / self.fps, 5.0 / self.fps, 10.0 / self.fps] + [s for s in steps if s >= 0.5]
        major = next((s for s in steps if s * px_per_s >= 90.0), steps[-1])
        minor = next((s for s in steps if s * px_per_s >= 12.0 and major / s >= 2 and abs(major / s - round(major / s)) < 1e-6),
                     major)
        return [(major, 0.0), (minor, 0.0)] if minor < major else [(major, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        if self.frames and self.fps:
            return [timecode(v, self.fps) for v in values]
        out = []
        for v in values:
            v = max(0.0, float(v))
            if spacing < 1.0 - 1e-9:
                m, s = divmod(v, 60.0)
                out.append(f"{int(m)}:{s:04.1f}")
            else:
                out.append(timecode(v))
        return out


class LaneAxis(pg.AxisItem):
    """Left axis naming the lanes instead of showing numbers."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        lanes = [LANE_CUTS, LANE_SHOTS, LANE_SOUND, LANE_SEGMENTS, LANE_MUSIC, LANE_MATCH]
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


class VLinesItem(pg.GraphicsObject):
    """Vertical lines at times ``xs`` from y0 to y1 (view coordinates), drawn one segment per time.

    Each line is its own segment computed at paint time from the lines inside the view, so clipping,
    zooming or downsampling can never join the end of one line to the start of the next (what
    ``PlotDataItem(connect="pairs")`` with clip-to-view did: diagonal slashes when zoomed in).
    """

    def __init__(self, y0: float, y1: float):
        super().__init__()
        self._xs = np.zeros(0)
        self._y0, self._y1 = float(min(y0, y1)), float(max(y0, y1))
        self._pen = QPen(QColor("#ffffff"))
        self._pen.setCosmetic(True)

    def setPen(self, pen) -> None:  # noqa: N802 (pyqtgraph-like API)
        self._pen = QPen(pg.mkPen(pen))
        self._pen.setCosmetic(True)
        self.update()

    def set_xs(self, xs, y0: Optional[float] = None, y1: Optional[float] = None) -> None:
        self.prepareGeometryChange()
        self._xs = np.sort(np.asarray(xs, dtype=float).ravel())
        if y0 is not None and y1 is not None:
            self._y0, self._y1 = float(min(y0, y1)), float(max(y0, y1))
        self.update()

    def xs(self) -> np.ndarray:
        return self._xs.copy()

    def span(self) -> tuple[float, float]:
        return self._y0, self._y1

    def lines_in_view(self) -> list[tuple[float, float, float, float]]:
        """The segments ``(x0, y0, x1, y1)`` (view coordinates) this item draws for the current view."""
        xs = self._xs
        vb = self.getViewBox()
        if vb is not None and xs.size:
            (v0, v1), _ = vb.viewRange()
            xs = xs[np.searchsorted(xs, v0, "left"):np.searchsorted(xs, v1, "right")]
        return [(float(x), self._y0, float(x), self._y1) for x in xs]

    def paint(self, painter, *args):
        lines = self.lines_in_view()
        if not lines:
            return
        painter.setPen(self._pen)
        painter.drawLines([QLineF(x0, y0, x1, y1) for x0, y0, x1, y1 in lines])

    def boundingRect(self):  # noqa: N802 (Qt API)
        if not self._xs.size:
            return QRectF()
        x0, x1 = float(self._xs[0]), float(self._xs[-1])
        return QRectF(x0, self._y0, max(x1 - x0, 1e-6), self._y1 - self._y0)


class EnvelopeItem(pg.GraphicsObject):
    """A waveform envelope (peak amplitude 0..1 at ``rate_hz`` from ``t0_s``) mirrored about a lane's middle.

    Drawn at the screen's resolution: the samples in view are reduced to about one peak per pixel.
    """

    def __init__(self, top: float, bottom: float):
        super().__init__()
        self._env = np.zeros(0, dtype=np.float32)
        self._rate_hz = 100.0
        self._t0_s = 0.0
        self._mid, self._half = (top + bottom) / 2.0, (top - bottom) / 2.0 * 0.92
        self._brush = QBrush(QColor("#8888"))

    def set_color(self, color) -> None:
        self._brush = QBrush(QColor(color))
        self.update()

    def set_envelope(self, env, rate_hz: float, t0_s: float = 0.0) -> None:
        self.prepareGeometryChange()
        self._env = np.clip(np.asarray(env, dtype=np.float32).ravel() if env is not None else np.zeros(0), 0.0, 1.0)
        self._rate_hz, self._t0_s = float(rate_hz), float(t0_s)
        self.update()

    def has_data(self) -> bool:
        return self._env.size > 0

    def _visible(self):
        env, r, t0 = self._env, self._rate_hz, self._t0_s
        vb = self.getViewBox()
        i0, i1, px = 0, env.size, 2000
        if vb is not None:
            (v0, v1), _ = vb.viewRange()
            i0 = int(max(0, np.floor((v0 - t0) * r)))
            i1 = int(min(env.size, np.ceil((v1 - t0) * r) + 1))
            px = max(50, int(vb.width()))
        seg = env[i0:i1]
        if seg.size == 0:
            return np.zeros(0), np.zeros(0)
        step = max(1, int(seg.size // px))
        n = seg.size // step
        if step > 1:
            peaks = seg[: n * step].reshape(n, step).max(axis=1)
            t = t0 + (i0 + np.arange(n) * step + step / 2.0) / r
        else:
            peaks = seg
            t = t0 + (i0 + np.arange(seg.size)) / r
        return t, peaks

    def paint(self, painter, *args):
        t, peaks = self._visible()
        if t.size < 2:
            return
        top = [QPointF(float(x), self._mid + self._half * float(p)) for x, p in zip(t, peaks)]
        bottom = [QPointF(float(x), self._mid - self._half * float(p)) for x, p in zip(t[::-1], peaks[::-1])]
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._brush)
        painter.drawPolygon(QPolygonF(top + bottom))

    def boundingRect(self):  # noqa: N802 (Qt API)
        if not self._env.size:
            return QRectF()
        return QRectF(self._t0_s, self._mid - self._half, self._env.size / self._rate_hz, 2 * self._half)


class SpanLabelsItem(pg.GraphicsObject):
    """Text labels, one per time span, drawn in screen pixels inside their span: elided with "…" when
    the span is narrow and hidden when even that does not fit, so labels never overlap at any zoom."""

    MIN_PX = 18  # narrower than this: no label
    PAD_PX = 4

    def __init__(self, top: float, bottom: float):
        super().__init__()
        self._items: list[tuple[float, float, str]] = []
        self._y = (float(top) + float(bottom)) / 2.0
        self._top, self._bottom = float(top), float(bottom)
        self._color = QColor("#ffffff")
        self._font = QFont()
        self._font.setPointSizeF(max(7.0, self._font.pointSizeF() - 1))

    def set_color(self, color) -> None:
        self._color = QColor(color)
        self.update()

    def set_labels(self, items) -> None:
        """``items``: (start_s, end_s, text) per span; ``text`` may be a tuple of wordings, longest
        first: the first that fits is shown, else the last one elided."""
        self.prepareGeometryChange()
        self._items = [(float(a), float(b), tuple(str(x) for x in t) if isinstance(t, tuple) else str(t))
                       for a, b, t in items]
        self.update()

    def layout(self, to_px) -> list[tuple[QRectF, str]]:
        """(pixel box, shown text) of each label in view; ``to_px(x_s, y)`` maps view to pixels. A span
        that starts left of the view has its label at the view's left edge."""
        fm = QFontMetricsF(self._font)
        out = []
        prev_right = -1e18
        items = sorted(self._items, key=lambda it: (it[0], it[1]))
        vb = self.getViewBox()
        if vb is not None:
            (v0, v1), _ = vb.viewRange()
            items = [(max(a, v0), min(b, v1), t) for a, b, t in items if b > v0 and a < v1]
        for a, b, text in items:
            pa, pb = to_px(a, self._y), to_px(b, self._y)
            left, right = min(pa.x(), pb.x()) + self.PAD_PX, max(pa.x(), pb.x()) - self.PAD_PX
            left = max(left, prev_right + self.PAD_PX)
            width = right - left
            if width < self.MIN_PX:
                continue
            alts = text if isinstance(text, tuple) else (text,)
            shown = next((t for t in alts if fm.horizontalAdvance(t) <= width),
                         fm.elidedText(alts[-1], Qt.ElideRight, width))
            if not shown or shown == "…":
                continue
            w = min(fm.horizontalAdvance(shown), width)
            h = fm.height()
            box = QRectF(left, pa.y() - h / 2.0, w, h)
            out.append((box, shown))
            prev_right = box.right()
        return out

    def label_boxes(self) -> list[tuple[QRectF, str]]:
        """The labels as laid out now, in scene pixels (for tests and tools)."""
        vb = self.getViewBox()
        if vb is None:
            return []
        return self.layout(lambda x, y: vb.mapViewToScene(QPointF(x, y)))

    def paint(self, painter, *args):
        if not self._items:
            return
        tr = painter.transform()
        boxes = self.layout(lambda x, y: tr.map(QPointF(x, y)))
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        painter.setPen(self._color)
        for box, text in boxes:
            painter.drawText(box, int(Qt.AlignLeft | Qt.AlignVCenter), text)
        painter.restore()

    def boundingRect(self):  # noqa: N802 (Qt API)
        if not self._items:
            return QRectF()
        x0 = min(a for a, _, _ in self._items)
        x1 = max(b for _, b, _ in self._items)
        return QRectF(x0, self._bottom, max(x1 - x0, 1e-6), self._top - self._bottom)


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
        self.music_state = "empty"  # empty | ready | updating
        self.music_note = ""

        self.ruler = TimeAxis("top")
        self.plot = pg.PlotWidget(axisItems={"top": self.ruler, "left": LaneAxis("left")})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        pi = self.plot.getPlotItem()
        pi.showAxis("top")
        pi.hideAxis("bottom")
        pi.setClipToView(True)
        vb = pi.getViewBox()
        vb.disableAutoRange()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(_Y_MIN, _Y_MAX, padding=0)
        vb.setLimits(yMin=_Y_MIN, yMax=_Y_MAX, xMin=0.0)
        pi.getAxis("left").setWidth(70)
        self.plot.setMinimumHeight(190)

        top, bottom, _ = LANE_MUSIC
        self.curve = pg.PlotDataItem()
        self.provisional_curve = pg.PlotDataItem()  # beyond where the shot detection has reached: quick cuts
        self.provisional_cut_lines = VLinesItem(LANE_CUTS[1], LANE_CUTS[0])
        self.provisional_from_s: Optional[float] = None
        self.cuts_status = pg.TextItem("", anchor=(1, 0))
        self.cuts_status.setZValue(50)
        self.threshold_line = pg.InfiniteLine(pos=0.5, angle=0, movable=False)
        self.cut_lines = VLinesItem(LANE_CUTS[1], LANE_CUTS[0])
        self.shot_rects = RectsItem()
        self.sound_wave = EnvelopeItem(LANE_SOUND[0], LANE_SOUND[1])
        self.segment_rects = RectsItem()
        self.excerpt_rects = RectsItem()
        self.label_strips = RectsItem()
        self.music_wave = EnvelopeItem(top - _LABEL_STRIP, bottom + 0.02 + _SECTION_STRIP)
        self.match_rects = RectsItem()
        self.downbeat_lines = VLinesItem(top - _LABEL_STRIP, top - _LABEL_STRIP - 0.2)
        self.splice_lines = VLinesItem(LANE_MATCH[1], LANE_CUTS[0])
        self.sync_lines = VLinesItem(_Y_MIN, _Y_MAX)
        self.excerpt_labels = SpanLabelsItem(top - 0.02, top - _LABEL_STRIP)
        self.section_labels = SpanLabelsItem(bottom + 0.02 + _SECTION_STRIP, bottom + 0.02)
        self.section_lines = VLinesItem(bottom + 0.02, bottom + 0.02 + _SECTION_STRIP)
        self.sections: list = []  # (video_start_s, video_end_s, section number from 1) as drawn
        self._music_bounds_s = np.zeros(0)
        self.music_status = pg.TextItem("", anchor=(0, 0.5))
        self.music_status.setZValue(50)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True)
        self.playhead.setZValue(100)
        for item in (self.shot_rects, self.sound_wave, self.segment_rects, self.excerpt_rects, self.label_strips,
                     self.music_wave,
                     self.match_rects, self.curve, self.provisional_curve, self.threshold_line, self.cut_lines,
                     self.provisional_cut_lines, self.downbeat_lines,
                     self.splice_lines, self.sync_lines, self.excerpt_labels, self.section_lines, self.section_labels,
                     self.playhead):
            pi.addItem(item)
        pi.addItem(self.music_status, ignoreBounds=True)
        pi.addItem(self.cuts_status, ignoreBounds=True)
        self.playhead.sigPositionChanged.connect(self._on_playhead_dragged)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        vb.sigXRangeChanged.connect(lambda *_: self._place_status())

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.apply_theme(self.theme)

    # -- look -----------------------------------------------------------------------------------
    def apply_theme(self, theme: TimelineTheme) -> None:
        self.theme = t = theme
        self.plot.setBackground(t.background)
        pi = self.plot.getPlotItem()
        for name in ("top", "left"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen(t.grid))
            ax.setTextPen(pg.mkPen(t.foreground))
        pi.showGrid(x=True, y=False, alpha=0.25)
        self.curve.setPen(pg.mkPen(t.curve, width=1.5))
        self.curve.setFillLevel(0.0)
        self.curve.setBrush(pg.mkBrush(t.curve_fill))
        self.threshold_line.setPen(pg.mkPen(t.threshold, width=1, style=Qt.DashLine))
        self.cut_lines.setPen(pg.mkPen(t.cut, width=1.5))
        muted = QColor(t.curve)
        muted.setAlpha(150)
        self.provisional_curve.setPen(pg.mkPen(muted, width=1.2, style=Qt.DashLine))
        muted_cut = QColor(t.cut)
        muted_cut.setAlpha(130)
        self.provisional_cut_lines.setPen(pg.mkPen(muted_cut, width=1.2, style=Qt.DashLine))
        self.cuts_status.setColor(t.foreground)
        self.cuts_status.fill = pg.mkBrush(t.background)
        self.cuts_status.border = pg.mkPen(t.excerpt_pen)
        self.downbeat_lines.setPen(pg.mkPen(t.downbeat, width=1.5))
        self.splice_lines.setPen(pg.mkPen(t.splice, width=2))
        self.sync_lines.setPen(pg.mkPen(t.sync, width=2, style=Qt.DashLine))
        self.sound_wave.set_color(t.wave)
        self.music_wave.set_color(t.music_wave)
        self.excerpt_labels.set_color(t.foreground)
        self.section_labels.set_color(t.foreground)
        self.section_lines.setPen(pg.mkPen(t.excerpt_pen, width=1))
        self.music_status.setColor(t.foreground)
        self.music_status.fill = pg.mkBrush(t.background)
        self.music_status.border = pg.mkPen(t.excerpt_pen)
        self.playhead.setPen(pg.mkPen(t.playhead, width=2))
        self.playhead.setHoverPen(pg.mkPen(t.sync, width=3))
        self._redraw_lanes()

    def set_frames(self, on: bool, fps: Optional[float] = None) -> None:
        """Ruler in m:ss:ff frames (on) or m:ss (off); ``fps``: the video's frame rate."""
        if fps:
            self.ruler.fps = float(fps)
        self.ruler.frames = bool(on)
        self.ruler.picture = None
        self.ruler.update()

    # -- data ---------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything (a new video)."""
        self._duration_s = 0.0
        self.curve.setData([], [])
        self.provisional_curve.setData([], [])
        self.provisional_from_s = None
        self.cuts_s = np.zeros(0)
        self.shots_s, self.segments_s, self.sync_points_s = [], [], []
        self.sound_wave.set_envelope(None, 100.0)
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
                     threshold: float = 0.5, keep_view: bool = False, provisional_from_s: Optional[float] = None) -> None:
        """Show a video's structure: cut curve at 25 Hz, cuts (s), shots and segments as (start_s, end_s).

        Partial analyses (the curve so far) can be shown repeatedly; ``keep_view`` leaves the zoom alone.
        ``provisional_from_s``: from there on the curve, cuts and shots are provisional (quick cuts, while the
        shot detection has not reached them): drawn dashed and muted, and said so in the cuts lane."""
        if not keep_view or self._duration_s <= 0:
            self.set_duration(duration_s)
        probs = np.asarray(cut_probs_25hz, dtype=float).ravel()
        t = np.arange(probs.size) / 25.0
        self.provisional_from_s = None if provisional_from_s is None else float(provisional_from_s)
        if self.provisional_from_s is None:
            self.curve.setData(t, probs)
            self.provisional_curve.setData([], [])
        else:
            k = int(np.searchsorted(t, self.provisional_from_s))
            self.curve.setData(t[:k], probs[:k])
            self.provisional_curve.setData(t[max(0, k - 1):], probs[max(0, k - 1):])
        self.threshold_line.setValue(threshold)
        self.cuts_s = np.asarray(cuts_s, dtype=float).ravel()
        self.shots_s = [(float(a), float(b)) for a, b in shots_s]
        self.segments_s = [(float(a), float(b)) for a, b in (segments_s if segments_s is not None else shots_s)]
        self._redraw_lanes()

    def set_sound_envelope(self, env, rate_hz: float) -> None:
        """The production sound's waveform envelope (peaks 0..1 at ``rate_hz``), under the picture lanes."""
        self.sound_wave.set_envelope(env, rate_hz)

    def set_candidate(self, excerpts: Sequence, downbeats_video_s: Sequence[float] = (),
                      pairs: Sequence[dict] = (), envelope=None, envelope_rate_hz: float = 100.0,
                      music_boundaries_s: Sequence[float] = ()) -> None:
        """Overlay a candidate's edit (it replaces an "updating" state).

        ``excerpts``: objects or dicts with video_start_s, video_end_s, music_in_s, music_out_s; the
        splices are the starts of excerpts after the first. ``downbeats_video_s``: the music's downbeats
        mapped to video time (s). ``pairs``: dicts {music_start_s, music_end_s, video_start_s, video_end_s,
        optional music_index / video_index} from the alignment. ``envelope``: the edited music's
        waveform on the video's time axis (peaks 0..1 at ``envelope_rate_hz`` from 0 s).
        ``music_boundaries_s``: the track's section boundaries (music time, s; 0 and its end may be
        included), labelled where they play.
        """
        self.excerpts = [_as_dict(e) for e in excerpts]
        self._music_bounds_s = np.unique(np.asarray(music_boundaries_s, dtype=float).ravel())
        self.splices_s = np.array([e["video_start_s"] for e in self.excerpts[1:]], dtype=float)
        self.downbeats_video_s = np.asarray(downbeats_video_s, dtype=float).ravel()
        self.pairs = [dict(p) for p in pairs]
        self.music_wave.set_envelope(envelope, envelope_rate_hz)
        self.music_state, self.music_note = ("ready" if self.excerpts else "empty"), ""
        self._redraw_lanes()

    def set_music_updating(self, note: str = "Updating the edit…", keep: bool = True) -> None:
        """The candidate's edit is being rebuilt: dim what is there (``keep``) or clear it, and say so."""
        if not keep:
            self.excerpts, self.pairs = [], []
            self._music_bounds_s = np.zeros(0)
            self.splices_s = np.zeros(0)
            self.downbeats_video_s = np.zeros(0)
            self.music_wave.set_envelope(None, 100.0)
        self.music_state, self.music_note = "updating", note
        self._redraw_lanes()

    def clear_candidate(self) -> None:
        self.excerpts, self.pairs = [], []
        self._music_bounds_s = np.zeros(0)
        self.splices_s = np.zeros(0)
        self.downbeats_video_s = np.zeros(0)
        self.music_wave.set_envelope(None, 100.0)
        self.music_state, self.music_note = "empty", ""
        self._redraw_lanes()

    def set_sync_points(self, points_s: Sequence[float]) -> None:
        self.sync_points_s = sorted(float(p) for p in points_s)
        self.sync_lines.set_xs(self.sync_points_s)

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
        p0 = self.provisional_from_s
        final = self.cuts_s if p0 is None else self.cuts_s[self.cuts_s < p0]
        self.cut_lines.set_xs(final)
        self.provisional_cut_lines.set_xs(self.cuts_s[final.size:] if p0 is not None else np.zeros(0))
        shots = _alternating(self.shots_s, LANE_SHOTS, t.shot_a, t.shot_b)
        if p0 is not None:  # shots from quick cuts: faint
            for i, r in enumerate(shots):
                if r[0] >= p0 - 1e-6:
                    c = QColor(r[4])
                    c.setAlpha(max(40, c.alpha() // 3))
                    shots[i] = (*r[:4], c, *r[5:])
        self.shot_rects.set_rects(shots)
        self.cuts_status.setText("" if p0 is None else
                                 ("Quick cuts (provisional): detecting shots…" if p0 <= 0 else
                                  f"Shots detected to {_mmss(p0)}; quick cuts (provisional) after"))
        self.cuts_status.setVisible(p0 is not None)
        self.segment_rects.set_rects(_alternating(self.segments_s, LANE_SEGMENTS, t.segment_a, t.segment_b))
        top, bottom, _ = LANE_MUSIC
        updating = self.music_state == "updating"
        fill = QColor(t.excerpt)
        fill.setAlpha(90 if updating else 255)
        strip = QColor(t.excerpt_pen)
        strip.setAlpha(60 if updating else 110)
        self.excerpt_rects.set_rects([(e["video_start_s"], e["video_end_s"], top - 0.02, bottom + 0.02, fill,
                                       t.excerpt_pen) for e in self.excerpts])
        self.label_strips.set_rects([(e["video_start_s"], e["video_end_s"], top - 0.02, top - _LABEL_STRIP, strip, None)
                                     for e in self.excerpts])
        for item in (self.music_wave, self.downbeat_lines, self.excerpt_labels):
            item.setOpacity(0.35 if updating else 1.0)
        self.downbeat_lines.set_xs(self.downbeats_video_s)
        self.splice_lines.set_xs(self.splices_s)
        rects = []
        for k, p in enumerate(self.pairs):
            idx = int(p.get("music_index", p.get("music_segment", k)))
            color = QColor(t.match[idx % len(t.match)])
            color.setAlpha(110 if updating else 170)
            rects.append((float(p["video_start_s"]), float(p["video_end_s"]), LANE_MATCH[0], LANE_MATCH[1],
                          color, t.background))
        self.match_rects.set_rects(rects)
        self.excerpt_labels.set_labels([(e["video_start_s"], e["video_end_s"],
                                         f"{_mmss(e['music_in_s'])}–{_mmss(e['music_out_s'])}") for e in self.excerpts])
        self.sections = section_spans(self.excerpts, self._music_bounds_s)
        self.section_labels.set_labels([(a, b, (f"Section {k}", f"§{k}")) for a, b, k in self.sections])
        starts = [a for i, (a, _, k) in enumerate(self.sections) if a > 1e-6 and (i == 0 or k != self.sections[i - 1][2])]
        self.section_lines.set_xs(starts)
        for item in (self.section_labels, self.section_lines):
            item.setOpacity(0.35 if updating else 1.0)
        self.music_status.setText(self.music_note if updating else "")
        self.music_status.setVisible(updating and bool(self.music_note))
        self._place_status()
        self.set_sync_points(self.sync_points_s)

    def _place_status(self) -> None:
        x0, x1 = self.view_range_s()
        top, bottom, _ = LANE_MUSIC
        self.music_status.setPos(x0, (top + bottom) / 2)
        self.cuts_status.setPos(x1, LANE_CUTS[0])

    def label_boxes(self) -> list:
        """The music lane's excerpt labels as drawn now: [(QRectF in pixels, text)] (for tests)."""
        return self.excerpt_labels.label_boxes()

    # -- for tests and tools -----------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts of what is drawn (for tests and the status bar)."""
        return {
            "duration_s": self._duration_s,
            "curve_points": 0 if self.curve.xData is None else int(len(self.curve.xData)),
            "cuts": int(self.cuts_s.size),
            "provisional_from_s": self.provisional_from_s,
            "provisional_cuts": int(self.provisional_cut_lines.xs().size),
            "shots": len(self.shots_s),
            "segments": len(self.segments_s),
            "excerpts": len(self.excerpts),
            "splices": int(self.splices_s.size),
            "downbeats": int(self.downbeats_video_s.size),
            "pairs": len(self.pairs),
            "sync_points": len(self.sync_points_s),
            "sections": len(self.sections),
            "music_state": self.music_state,
            "sound_wave": self.sound_wave.has_data(),
            "music_wave": self.music_wave.has_data(),
        }


def section_spans(excerpts: Sequence[dict], music_boundaries_s) -> list[tuple[float, float, int]]:
    """Where each of the track's sections plays under the picture: ``(video_start_s, video_end_s,
    number)``, sections numbered from 1 in the track's order (a repeated section shows its number
    again), one span per section per excerpt, in video order; where the music plays straight on from
    one excerpt into the next (no jump), their spans of the same section are one. No boundaries: none."""
    b = np.asarray(music_boundaries_s, dtype=float).ravel()
    if b.size < 2:
        return []
    out: list[list] = []  # [video_start_s, video_end_s, number, music_end_s]
    for e in excerpts:
        m0, m1, v0 = float(e["music_in_s"]), float(e["music_out_s"]), float(e["video_start_s"])
        for k in range(b.size - 1):
            a, z = max(m0, b[k]), min(m1, b[k + 1])
            if z - a <= 1e-6:
                continue
            va, vz = v0 + a - m0, v0 + z - m0
            if out and out[-1][2] == k + 1 and abs(out[-1][1] - va) < 1e-6 and abs(out[-1][3] - a) < 1e-6:
                out[-1][1], out[-1][3] = vz, z
            else:
                out.append([va, vz, k + 1, z])
    return [(float(a), float(z), int(k)) for a, z, k, _ in out]


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
