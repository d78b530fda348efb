"""The preview player: one interface, two backends (python-vlc first, Qt Multimedia as the fallback).

A preview is the video plus, optionally, a mockup music file (a WAV that starts at video time 0). With
VLC the music is attached to the video's own media as an audio slave and selected as its audio track,
so picture and music share one clock and never drift. With Qt Multimedia two players run side by side
and the music is re-synchronised whenever it strays more than ``_QT_RESYNC_S`` from the picture.

Times are seconds (float). Signals: ``position_changed(t_s)`` about 30 times a second while playing
and after every seek, ``state_changed(state)`` with state in {"stopped", "playing", "paused", "ended"},
``duration_changed(d_s)`` and ``error(sentence)``.

:func:`create_player` picks the backend the caller prefers, else the other one, else a
:class:`NullPlayer` that says why nothing can be previewed. The app prefers VLC (setting
``player/backend``, View › Preview player): it keeps the music on the picture's clock, and this module
works around libvlc 3's embedded X11 output (a stale or black picture after a paused seek, a music
change or a resize: a muted pre-roll to the new frame, a redraw after a resize). Qt Multimedia always
shows the frame at the current time, but its FFmpeg backend could deadlock when the window closed
(PySide's GIL against Qt's connection mutex, an FFmpeg thread destroying a wrapped object while
``QMediaPlayer.stop()`` ran; about once in 30 runs of a test): its players are now stopped (at close, on
a music change, on Stop) from a local event loop, without the GIL (:func:`_stop_from_the_event_loop`). It stays available from the View
menu, not the default. Without an audio output device (probed once,
:func:`audio_output_available`) previews play silently with one status message.
"""
from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPalette, QColor
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

log = logging.getLogger(__name__)

_POLL_MS = 33  # position updates while playing (~30 Hz)
_QT_RESYNC_S = 0.04  # Qt backend: re-align the music when it drifts more than this
_PREROLL_SHOW_S = 0.06  # VLC: play (muted) this long at the wanted time so its frame is drawn, then pause
_PREROLL_RATE = 1.0  # ... at this speed, so a slow event loop overshoots the wanted frame by less
_PREROLL_GIVE_UP_S = 4.0  # ... or pause anyway after this long


class Player(QObject):
    """Interface of a preview player (see the module docstring). Subclasses implement the methods."""

    position_changed = Signal(float)
    state_changed = Signal(str)
    duration_changed = Signal(float)
    error = Signal(str)

    backend_name = "none"
    available = False
    audio_note = ""  # one sentence when previews play without sound (no output device)

    def video_widget(self) -> QWidget:
        raise NotImplementedError

    def load(self, video_path: str | Path, music_path: Optional[str | Path] = None, *, video_has_audio: bool = True) -> None:
        """Load a video (paused at 0, first frame shown where the backend can), with optional mockup music."""
        raise NotImplementedError

    def set_music(self, music_path: Optional[str | Path]) -> None:
        """Replace the mockup music (None: the video's own sound), keeping position and play state."""
        raise NotImplementedError

    def play(self) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        raise NotImplementedError

    def toggle(self) -> None:
        self.pause() if self.is_playing() else self.play()

    def stop(self) -> None:
        raise NotImplementedError

    def seek(self, t_s: float) -> None:
        raise NotImplementedError

    def position_s(self) -> float:
        raise NotImplementedError

    def duration_s(self) -> float:
        raise NotImplementedError

    def is_playing(self) -> bool:
        raise NotImplementedError

    def set_rate(self, rate: float) -> None:
        """Playback speed (1.0 normal; positive only)."""
        raise NotImplementedError

    def rate(self) -> float:
        return 1.0

    def video_path(self) -> Optional[str]:
        return getattr(self, "_video", None)

    def music_path(self) -> Optional[str]:
        return getattr(self, "_music", None)

    def close(self) -> None:
        """Release the backend (the object is unusable afterwards)."""


class VideoSurface(QFrame):
    """A black native widget the backend draws the video into; ``resized()`` once a resize settles
    (libvlc's X11 output leaves a paused picture black after a resize until a frame is drawn again)."""

    resized = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(150)
        self._settle.timeout.connect(self.resized)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QPalette.Window, QColor(0, 0, 0))
        self.setPalette(pal)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WA_NativeWindow, True)  # VLC needs a real window id
        self.setAttribute(Qt.WA_DontCreateNativeAncestors, True)

    def resizeEvent(self, ev):  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        self._settle.start()


NO_AUDIO_NOTE = "No audio output device was found: previews play the picture without sound."


def audio_output_available() -> bool:
    """Whether a sound output is there to play to (probed once, without opening a device).

    Linux: a PulseAudio/PipeWire server socket, or an ALSA card in /proc/asound/cards. Elsewhere the
    system always has an output. ``SUPERVISOR_AUDIO=off`` forces silent previews, ``=on`` forces sound.
    Without an output, libvlc's ALSA module would print thousands of error lines (one per buffer).
    """
    forced = os.environ.get("SUPERVISOR_AUDIO", "").strip().lower()
    if forced in ("off", "0", "no", "none"):
        return False
    if forced in ("on", "1", "yes"):
        return True
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    for sock in ("pulse/native", "pipewire-0"):
        if os.path.exists(os.path.join(runtime, sock)):
            return True
    try:
        cards = Path("/proc/asound/cards").read_text(errors="replace")
    except OSError:
        return False
    return any(line.strip()[:1].isdigit() for line in cards.splitlines())


def _offscreen() -> bool:
    app = QGuiApplication.instance()
    name = app.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")
    return name in ("offscreen", "minimal")


# --- VLC -----------------------------------------------------------------------------------------
def _load_vlc():
    """The python-vlc module when libvlc loads, else None."""
    if os.environ.get("SUPERVISOR_NO_VLC"):
        return None
    try:
        import vlc  # noqa: F401  (raises OSError/ImportError without libvlc)

        if vlc.dll is None or vlc.libvlc_get_version() is None:
            return None
        return vlc
    except Exception as e:  # libvlc missing or broken
        log.info("python-vlc not usable: %s", e)
        return None


class VlcPlayer(Player):
    """libvlc backend: the video drawn into a Qt widget, the music as an audio slave of the same media."""

    backend_name = "VLC"
    available = True

    def __init__(self, vlc_module, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._vlc = vlc = vlc_module
        if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
            os.environ["XDG_RUNTIME_DIR"] = f"/tmp/runtime-{os.getuid()}"
            os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
        args = ["--no-video-title-show", "--quiet", "--no-snapshot-preview", "--no-osd"]
        self._headless = _offscreen()
        self.audio_note = "" if audio_output_available() else NO_AUDIO_NOTE
        if self._headless:
            args += ["--vout=dummy", "--aout=dummy"]
        elif self.audio_note:
            args += ["--aout=dummy"]  # silent video, not one ALSA error line per audio buffer
        args += shlex.split(os.environ.get("SUPERVISOR_VLC_ARGS", ""))
        self._instance = vlc.Instance(args)
        if self._instance is None:
            raise RuntimeError("libvlc could not start")
        self._mp = self._instance.media_player_new()
        self._surface = VideoSurface()
        self._surface.resized.connect(self.redraw)
        self._embedded = False
        self._media = None
        self._video: Optional[str] = None
        self._music: Optional[str] = None
        self._video_has_audio = True
        self._duration_s = 0.0
        self._state = "stopped"
        self._want_playing = False
        self._preroll = False  # playing muted to show the first frame, then pause
        self._pending_seek_s: Optional[float] = None
        self._preroll_t0 = 0.0
        self._preroll_landed_t: Optional[float] = None
        self._preroll_raw0 = -1
        self._seek_t = 0.0
        self._slave_selected = False
        self._slave_wait_t = 0.0
        self._rate = 1.0
        self._last_raw_ms = -1
        self._last_raw_t = 0.0
        self._pos_s = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self._poll)

    # -- embedding --------------------------------------------------------------------------
    def video_widget(self) -> QWidget:
        return self._surface

    def _embed(self) -> None:
        if self._embedded or self._headless:
            return
        wid = int(self._surface.winId())
        if sys.platform.startswith("linux"):
            self._mp.set_xwindow(wid)
        elif sys.platform == "win32":
            self._mp.set_hwnd(wid)
        elif sys.platform == "darwin":
            self._mp.set_nsobject(wid)
        self._embedded = True

    # -- loading ----------------------------------------------------------------------------
    def _make_media(self):
        media = self._instance.media_new_path(self._video)
        if self._music:
            media.slaves_add(self._vlc.MediaSlaveType.audio, 4, Path(self._music).resolve().as_uri())
        return media

    def load(self, video_path, music_path=None, *, video_has_audio: bool = True) -> None:
        self._video = str(Path(video_path).resolve())
        self._music = str(music_path) if music_path else None
        self._video_has_audio = bool(video_has_audio)
        self._duration_s = 0.0
        self._pos_s = 0.0
        self._start(0.0, play=False)
        self.position_changed.emit(0.0)

    def set_music(self, music_path) -> None:
        if self._video is None:
            return
        self._music = str(music_path) if music_path else None
        self._start(self.position_s(), play=self._want_playing)

    def _start(self, at_s: float, play: bool) -> None:
        """(Re)start the media at ``at_s``; paused there unless ``play``."""
        self._embed()
        self._mp.stop()
        self._media = self._make_media()
        self._mp.set_media(self._media)
        self._slave_selected = self._music is None
        self._slave_wait_t = time.monotonic()
        self._want_playing = play
        self._preroll = not play
        self._pending_seek_s = at_s if at_s > 0 else None
        self._preroll_t0 = time.monotonic()
        self._preroll_landed_t = None
        self._pos_s = at_s
        self._last_raw_ms = -1
        self._mp.audio_set_mute(self._preroll)
        self._mp.set_rate(_PREROLL_RATE if self._preroll else self._rate)
        if self._mp.play() == -1:
            self.error.emit(f"VLC cannot play {Path(self._video).name!r}.")
            return
        self._timer.start()

    # -- transport --------------------------------------------------------------------------
    def play(self) -> None:
        if self._video is None:
            return
        st = self._mp.get_state()
        if st in (self._vlc.State.Ended, self._vlc.State.Stopped, self._vlc.State.Error, self._vlc.State.NothingSpecial):
            at = 0.0 if st == self._vlc.State.Ended or self._pos_s >= self._duration_s - 0.05 else self._pos_s
            self._start(at, play=True)
        else:
            if self._preroll:
                self._preroll = False
                self._mp.set_rate(self._rate)
            self._want_playing = True
            self._mp.audio_set_mute(False)
            self._mp.set_pause(0)
            self._timer.start()
        self._set_state("playing")

    def pause(self) -> None:
        if self._video is None:
            return
        self._want_playing = False
        self._mp.set_pause(1)
        self._set_state("paused")

    def stop(self) -> None:
        self._want_playing = False
        self._mp.stop()
        self._timer.stop()
        self._pos_s = 0.0
        self._set_state("stopped")
        self.position_changed.emit(0.0)

    def seek(self, t_s: float) -> None:
        if self._video is None:
            return
        d = self._duration_s or float("inf")
        t_s = float(min(max(0.0, t_s), max(0.0, d - 0.04)))
        st = self._mp.get_state()
        if st == self._vlc.State.Paused and not self._want_playing and not self._preroll:
            # libvlc 3 does not redraw a paused picture after set_time: play muted to the new time
            # and pause there (as after loading), so the picture always shows the time asked for
            self._mp.set_time(int(round(t_s * 1000)))
            self._pos_s = t_s
            self._begin_preroll()
        elif st in (self._vlc.State.Playing, self._vlc.State.Paused) and not self._preroll:
            self._mp.set_time(int(round(t_s * 1000)))
        elif st in (self._vlc.State.Ended, self._vlc.State.Stopped, self._vlc.State.NothingSpecial, self._vlc.State.Error):
            self._start(t_s, play=self._want_playing)
        else:
            self._pending_seek_s = t_s
            self._preroll_landed_t = None
        self._pos_s = t_s
        self._seek_t = time.monotonic()
        self._last_raw_ms = -1
        self.position_changed.emit(t_s)

    def position_s(self) -> float:
        return self._pos_s

    def _begin_preroll(self) -> None:
        """Play muted and slowly from the time just set until its picture is drawn, then pause there."""
        self._preroll = True
        self._preroll_t0 = time.monotonic()
        self._preroll_landed_t = None
        self._preroll_raw0 = self._mp.get_time()  # libvlc reports the new time before its seek is done
        self._mp.audio_set_mute(True)
        self._mp.set_rate(_PREROLL_RATE)
        self._mp.set_pause(0)
        self._timer.start()

    def redraw(self) -> None:
        """Paused: draw the current frame again (the video output went black, e.g. after a resize)."""
        st = self._mp.get_state()
        if self._video is not None and st == self._vlc.State.Paused and not self._want_playing and not self._preroll:
            self.seek(self._pos_s)

    def duration_s(self) -> float:
        return self._duration_s

    def is_playing(self) -> bool:
        return self._want_playing and self._state == "playing"

    def set_rate(self, rate: float) -> None:
        self._rate = float(rate)
        self._mp.set_rate(self._rate)

    def rate(self) -> float:
        return self._rate

    def close(self) -> None:
        # idempotent: a window closed twice (explicitly, then by its owner) must not stop a released
        # libvlc player (that blocks for ever on the freed player's lock)
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self._timer.stop()
        try:
            self._mp.stop()
            self._mp.release()
            self._instance.release()
        except Exception:  # pragma: no cover - release at exit
            pass

    # -- polling ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _select_slave_track(self) -> None:
        """Make the mockup music (the slave, highest audio track id) the audible track."""
        ids = [tid for tid, _ in (self._mp.audio_get_track_description() or []) if tid != -1]
        expected = (1 if self._video_has_audio else 0) + 1
        waited = time.monotonic() - self._slave_wait_t
        if ids and (len(ids) >= expected or waited > 1.5):
            target = max(ids)
            if self._mp.audio_get_track() != target:
                self._mp.audio_set_track(target)
            self._slave_selected = self._mp.audio_get_track() == target

    def _poll(self) -> None:
        vlc = self._vlc
        st = self._mp.get_state()
        if st == vlc.State.Error:
            self._timer.stop()
            self._set_state("stopped")
            self.error.emit(f"VLC could not play {Path(self._video).name!r}." if self._video else "VLC stopped with an error.")
            return
        length_ms = self._mp.get_length()
        if length_ms and length_ms > 0 and abs(length_ms / 1000.0 - self._duration_s) > 1e-3:
            self._duration_s = length_ms / 1000.0
            self.duration_changed.emit(self._duration_s)
        if st == vlc.State.Ended:
            self._timer.stop()
            self._want_playing = False
            self._pos_s = self._duration_s
            self.position_changed.emit(self._pos_s)
            self._set_state("ended")
            return
        if st not in (vlc.State.Playing, vlc.State.Paused):
            return  # opening / buffering
        if not self._slave_selected:
            self._select_slave_track()
        if self._pending_seek_s is not None and self._mp.is_seekable():
            self._mp.set_time(int(round(self._pending_seek_s * 1000)))
            self._pos_s = self._pending_seek_s
            self._pending_seek_s = None
            self._last_raw_ms = -1
            self._preroll_raw0 = self._mp.get_time()
        raw = self._mp.get_time()
        now = time.monotonic()
        if self._preroll:
            # playing muted until the picture at the wanted time is on screen, then pause there; the
            # position stays the one asked for (VLC reports 0 until its seek is done)
            moved = raw != self._preroll_raw0 or now - self._preroll_t0 > 0.5  # the seek is done
            landed = (self._pending_seek_s is None and raw >= 0 and moved
                      and -0.04 <= raw / 1000.0 - self._pos_s < 0.5 and (self._headless or self._mp.has_vout() > 0))
            if landed and self._preroll_landed_t is None:
                self._preroll_landed_t = now
            waited = now - self._preroll_t0
            shown = self._preroll_landed_t is not None and now - self._preroll_landed_t >= _PREROLL_SHOW_S
            if st == vlc.State.Playing and (shown or waited > _PREROLL_GIVE_UP_S):
                self._mp.set_pause(1)
                self._preroll = False
                self._mp.set_rate(self._rate)
                self._mp.audio_set_mute(False)
                got = self._mp.get_time() / 1000.0
                if landed and 0.0 <= got - self._pos_s < 0.5:
                    self._pos_s = got  # the time of the frame on screen (a few frames past the one asked for)
                self._set_state("paused")
                self.position_changed.emit(self._pos_s)
            return
        if st == vlc.State.Playing and self._want_playing:
            if raw != self._last_raw_ms:
                self._last_raw_ms, self._last_raw_t = raw, now
                pos = raw / 1000.0
            else:  # libvlc updates its time coarsely: extrapolate between updates
                pos = raw / 1000.0 + min(0.5, (now - self._last_raw_t) * self._rate)
            if raw < 0 or (now - self._seek_t < 0.4 and abs(pos - self._pos_s) > 0.5):
                return  # a seek not done yet: VLC still reports the old time
            self._pos_s = max(0.0, pos if self._duration_s <= 0 else min(pos, self._duration_s))
            self.position_changed.emit(self._pos_s)
            self._set_state("playing")
        elif st == vlc.State.Paused and not self._want_playing:
            self._set_state("paused")
            self._timer.stop() if self._slave_selected else None


# --- Qt Multimedia (fallback) ---------------------------------------------------------------------
def _load_qtmultimedia():
    if os.environ.get("SUPERVISOR_NO_QTMULTIMEDIA"):
        return None
    try:
        from PySide6 import QtMultimedia, QtMultimediaWidgets  # PySide6-Addons

        return QtMultimedia, QtMultimediaWidgets
    except ImportError:
        return None


def _stop_from_the_event_loop(players) -> None:
    """``QMediaPlayer.stop()`` of each player, run from Qt's event loop rather than from Python.

    Called from Python, ``stop()`` holds the GIL while Qt's FFmpeg backend may wait, under a Qt mutex, for
    one of its threads that is deleting an object and needs the GIL (PySide looks up a Python override of
    the player's or audio output's ``disconnectNotify``): the window froze at close, about once in 30 runs
    of a test that re-renders the music and closes, and once at a music change. Queued, the calls run from
    a local event loop, which PySide runs without the GIL, so that thread can finish (the loop also
    delivers what was posted before them: callers must not hold state half-changed across it)."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QMetaObject, Qt

    if QCoreApplication.instance() is None:  # pragma: no cover - no loop to run them in
        for p in players:
            p.stop()
        return
    loop = QEventLoop()
    for p in players:
        QMetaObject.invokeMethod(p, "stop", Qt.ConnectionType.QueuedConnection)
    QMetaObject.invokeMethod(loop, "quit", Qt.ConnectionType.QueuedConnection)  # after them: posted in order
    loop.exec()


class QtMultimediaPlayer(Player):
    """Qt Multimedia backend: one player for the picture, one for the music, kept aligned."""

    backend_name = "Qt Multimedia"
    available = True

    def __init__(self, modules, parent: Optional[QObject] = None):
        super().__init__(parent)
        from PySide6.QtCore import QLoggingCategory

        QLoggingCategory.setFilterRules("qt.multimedia.ffmpeg*=false")  # FFmpeg's stream dumps on stderr
        qm, qmw = modules
        self._qm = qm
        self._surface = qmw.QVideoWidget()
        self._surface.setMinimumSize(320, 180)
        self._video_player = qm.QMediaPlayer(self)
        self._video_audio = qm.QAudioOutput(self)
        self._video_player.setVideoOutput(self._surface)
        self._music_player = qm.QMediaPlayer(self)
        self._music_audio = qm.QAudioOutput(self)
        has_output = audio_output_available() and bool(qm.QMediaDevices.audioOutputs())
        self.audio_note = "" if has_output else NO_AUDIO_NOTE
        # kept even without a device: Qt then plays silently (one "No audio device" line, no flood), and
        # the music player's clock keeps following the picture
        self._video_player.setAudioOutput(self._video_audio)
        self._music_player.setAudioOutput(self._music_audio)
        self._video: Optional[str] = None
        self._music: Optional[str] = None
        self._want_playing = False
        self._state = "stopped"
        self._rate = 1.0
        self._video_player.durationChanged.connect(lambda ms: self.duration_changed.emit(ms / 1000.0))
        self._video_player.mediaStatusChanged.connect(self._on_status)
        self._video_player.errorOccurred.connect(self._on_error)
        self._timer = QTimer(self)
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self._poll)

    def video_widget(self) -> QWidget:
        return self._surface

    def load(self, video_path, music_path=None, *, video_has_audio: bool = True) -> None:
        from PySide6.QtCore import QUrl

        self._video = str(Path(video_path).resolve())
        self._want_playing = False
        self._video_player.setSource(QUrl.fromLocalFile(self._video))
        self._apply_music(music_path)
        self._video_player.pause()
        self._set_state("paused")
        self.position_changed.emit(0.0)

    def _apply_music(self, music_path) -> None:
        from PySide6.QtCore import QUrl

        self._music = str(music_path) if music_path else None
        _stop_from_the_event_loop([self._music_player])  # a music change deadlocked here as close() did
        if self._music:
            self._music_player.setSource(QUrl.fromLocalFile(str(Path(self._music).resolve())))
            self._music_player.setPlaybackRate(self._rate)
        else:
            self._music_player.setSource(QUrl())
        self._video_audio.setMuted(self._music is not None)

    def set_music(self, music_path) -> None:
        t = self.position_s()
        self._apply_music(music_path)
        # re-assert the picture's position: once in a few dozen test runs (no audio device) the video
        # player reported 0 after the switch
        self._video_player.setPosition(int(t * 1000))
        if self._music:
            self._music_player.setPosition(int(t * 1000))
            if self._want_playing:
                self._music_player.play()
        self.position_changed.emit(t)

    def play(self) -> None:
        if self._video is None:
            return
        if self._state == "ended":
            self.seek(0.0)
        self._want_playing = True
        self._video_player.play()
        if self._music:
            self._music_player.setPosition(self._video_player.position())
            self._music_player.play()
        self._timer.start()
        self._set_state("playing")

    def pause(self) -> None:
        self._want_playing = False
        self._video_player.pause()
        self._music_player.pause()
        self._set_state("paused")
        self.position_changed.emit(self.position_s())

    def stop(self) -> None:
        self._want_playing = False
        _stop_from_the_event_loop([self._video_player, self._music_player])
        self._timer.stop()
        self._set_state("stopped")
        self.position_changed.emit(0.0)

    def seek(self, t_s: float) -> None:
        ms = int(round(max(0.0, t_s) * 1000))
        self._video_player.setPosition(ms)
        if self._music:
            self._music_player.setPosition(ms)
        self.position_changed.emit(ms / 1000.0)

    def position_s(self) -> float:
        return self._video_player.position() / 1000.0

    def duration_s(self) -> float:
        return self._video_player.duration() / 1000.0

    def is_playing(self) -> bool:
        return self._want_playing and self._state == "playing"

    def set_rate(self, rate: float) -> None:
        self._rate = float(rate)
        self._video_player.setPlaybackRate(self._rate)
        self._music_player.setPlaybackRate(self._rate)

    def rate(self) -> float:
        return self._rate

    def close(self) -> None:
        if getattr(self, "_closed", False):  # idempotent, as VlcPlayer.close
            return
        self._closed = True
        self._timer.stop()
        _stop_from_the_event_loop([self._video_player, self._music_player])

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _on_status(self, status) -> None:
        if status == self._qm.QMediaPlayer.MediaStatus.EndOfMedia:
            self._want_playing = False
            self._music_player.pause()
            self._timer.stop()
            self._set_state("ended")

    def _on_error(self, err, text="") -> None:
        if err != self._qm.QMediaPlayer.Error.NoError:
            name = Path(self._video).name if self._video else "the media"
            self.error.emit(f"Qt Multimedia cannot play {name!r} ({text or err}).")

    def _poll(self) -> None:
        t = self.position_s()
        if self._music and self._want_playing:
            drift = self._music_player.position() / 1000.0 - t
            if abs(drift) > _QT_RESYNC_S:
                self._music_player.setPosition(int(t * 1000))
        self.position_changed.emit(t)


# --- nothing available --------------------------------------------------------------------------
class NullPlayer(Player):
    """No playback backend: shows why, keeps the timeline usable (seek moves the playhead only)."""

    backend_name = "none"
    available = False
    reason = ("Preview is not available: install VLC (libvlc) or PySide6-Addons (Qt Multimedia) "
              "to play videos with their mockup music.")

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._widget = QWidget()
        lay = QVBoxLayout(self._widget)
        label = QLabel(self.reason)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignCenter)
        lay.addWidget(label)
        self._video = None
        self._music = None
        self._pos_s = 0.0
        self._duration = 0.0

    def video_widget(self) -> QWidget:
        return self._widget

    def load(self, video_path, music_path=None, *, video_has_audio: bool = True) -> None:
        self._video = str(video_path)
        self._music = str(music_path) if music_path else None
        self._pos_s = 0.0

    def set_music(self, music_path) -> None:
        self._music = str(music_path) if music_path else None

    def play(self) -> None:
        self.error.emit(self.reason)

    def pause(self) -> None:
        pass

    def stop(self) -> None:
        self.seek(0.0)

    def seek(self, t_s: float) -> None:
        self._pos_s = max(0.0, float(t_s))
        self.position_changed.emit(self._pos_s)

    def position_s(self) -> float:
        return self._pos_s

    def duration_s(self) -> float:
        return self._duration

    def is_playing(self) -> bool:
        return False

    def set_rate(self, rate: float) -> None:
        pass


def available_backends() -> list[str]:
    """Names of the playback backends that can run here, best first."""
    names = []
    if _load_vlc() is not None:
        names.append("vlc")
    if _load_qtmultimedia() is not None:
        names.append("qt")
    return names


def create_player(prefer: str = "vlc", parent: Optional[QObject] = None) -> Player:
    """The best available player: ``prefer`` ("vlc" or "qt") first, then the other, then NullPlayer."""
    order = ["vlc", "qt"] if prefer != "qt" else ["qt", "vlc"]
    for name in order:
        try:
            if name == "vlc":
                vlc = _load_vlc()
                if vlc is not None:
                    return VlcPlayer(vlc, parent)
            else:
                mods = _load_qtmultimedia()
                if mods is not None:
                    return QtMultimediaPlayer(mods, parent)
        except Exception as e:  # a backend that loads but cannot start
            log.warning("playback backend %s failed to start: %s", name, e)
    return NullPlayer(parent)
