"""The session's one source of truth for the selected candidate (no Qt: it can move to the core).

In the style of napari's ``ViewerModel``: a plain Python object holding state, with :class:`Event`
emitters the views connect to. The window asks it what to show; it never draws anything.

State:

* ``candidate`` — the selected track (any object with ``key()``, ``label``, ``score``, ``sync_score``,
  ``reasons``; ``fit_score`` when it has one), or None;
* ``sync_points_s`` — the picture times the edit must land a downbeat on (sorted; never at 0 s);
* ``start_offsets_s`` — per candidate key, where the music starts when the user moved it ([ / ]);
* ``edit`` — the ready edit (a Preview-like object with ``candidate``, ``sync_points_s``,
  ``start_offset_s``, ``sync_score``) that matches the current inputs, or None while it is rebuilt;
* ``status`` — "empty" (nothing selected), "updating" (an edit for the current inputs is being
  built), "ready", or "failed".

Every change that makes the edit out of date sets ``status = "updating"`` and emits
``rebuild_requested`` with the inputs; an edit that arrives for other inputs than the current ones
(a stale job) is ignored, so no view can show an edit that does not match what the user asked for.
Sync-point edits are undoable (``undo`` / ``redo``).

Events (callbacks get keyword arguments): ``candidate(candidate)``, ``sync_points(points_s)``,
``edit(edit)``, ``status(status, note)``, ``rebuild_requested(candidate, sync_points_s,
start_offset_s)``, ``message(text)``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

MIN_SYNC_POINT_S = 0.1  # a sync point must be after the picture's first moment
SYNC_POINT_MERGE_S = 0.05  # two sync points closer than this are the same one


class SyncPointError(ValueError):
    """A sync point that cannot be used (the sentence says why)."""


class Event:
    """A list of callbacks called with keyword arguments (``connect``, ``disconnect``, ``emit``)."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Optional[Callable] = None) -> None:
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, **kwargs) -> None:
        for cb in list(self._callbacks):
            cb(**kwargs)


class Events:
    def __init__(self, *names: str):
        for n in names:
            setattr(self, n, Event(n))


def fit_0_100(fit: Optional[float]) -> Optional[int]:
    """A fit on 0–100, through the normal distribution function (monotone: the higher fit shows the
    higher number, ties aside). ``fit`` is what the fit ranking orders by: the calibrated sync score (a
    z-score against random start offsets of the same edit) plus the form score (0 at best, minus the
    penalties for repeats, an ending that is not the music's own, a picture left without music). With
    nothing to pay for the form, it is the share of random placements of this music the edit beats
    (50 = no better than a random start, 84 = one standard deviation better, 98 = two); a track that
    must loop three times under the picture lands near 0."""
    if fit is None or not math.isfinite(float(fit)):
        return None
    return int(round(100.0 * 0.5 * (1.0 + math.erf(float(fit) / math.sqrt(2.0)))))


def fit_of(item) -> Optional[float]:
    """The fit of a candidate or an edit: its ``fit_score`` (sync + form) when it has one, else its
    ``sync_score`` (e.g. a track from "More like this", never fitted with its form)."""
    f = getattr(item, "fit_score", None)
    return f if f is not None else getattr(item, "sync_score", None)


class SessionModel:
    """See the module docstring."""

    def __init__(self) -> None:
        self.events = Events("candidate", "sync_points", "edit", "status", "rebuild_requested", "message")
        self.candidate: Any = None
        self.sync_points_s: tuple[float, ...] = ()
        self.start_offsets_s: dict = {}
        self.edit: Any = None
        self.status = "empty"
        self.note = ""
        self._undo: list[tuple[float, ...]] = []
        self._redo: list[tuple[float, ...]] = []
        self.duration_s: Optional[float] = None

    # -- the video ----------------------------------------------------------------------------------
    def reset(self, duration_s: Optional[float] = None) -> None:
        """A new video: nothing selected, no sync points, no history."""
        self.duration_s = duration_s
        self.candidate, self.edit = None, None
        self.start_offsets_s.clear()
        self._undo.clear()
        self._redo.clear()
        self.sync_points_s = ()
        self.events.sync_points.emit(points_s=())
        self.events.candidate.emit(candidate=None)
        self._set_status("empty")

    # -- the candidate ------------------------------------------------------------------------------
    def select(self, candidate) -> bool:
        """Make ``candidate`` current (True when it changed; the same track again only refreshes it, unless one
        was ranked on provisional cuts and the other not: its edit is then cut again)."""
        same = (candidate is not None and self.candidate is not None and candidate.key() == self.candidate.key()
                and bool(getattr(candidate, "provisional", False)) == bool(getattr(self.candidate, "provisional", False)))
        self.candidate = candidate
        if same:
            self.events.candidate.emit(candidate=candidate)
            return False
        self.edit = None
        self.events.candidate.emit(candidate=candidate)
        if candidate is None:
            self._set_status("empty")
        else:
            self._request(f"Cutting {candidate.label} to the picture…")
        return True

    def start_offset_s(self) -> Optional[float]:
        return None if self.candidate is None else self.start_offsets_s.get(self.candidate.key())

    def nudge(self, bars: int) -> Optional[float]:
        """Move where the music starts by ``bars`` bars (needs a ready edit); returns the new start (s)."""
        e = self.edit
        if self.candidate is None or e is None:
            self.events.message.emit(text="Select a candidate and wait for its edit first.")
            return None
        current = e.start_offset_s if e.start_offset_s is not None else (
            e.excerpts[0]["music_in_s"] if getattr(e, "excerpts", None) else 0.0)
        new = max(0.0, float(current) + bars * float(e.bar_s))
        self.start_offsets_s[self.candidate.key()] = new
        self.edit = None
        self._request("Moving the music…")
        return new

    # -- sync points (undoable) ------------------------------------------------------------------------
    def _validate(self, t_s: float) -> float:
        t = round(float(t_s), 3)
        if t < MIN_SYNC_POINT_S:
            raise SyncPointError("A sync point at the very start is not used: the music always starts with the "
                                 "picture. Mark a moment later in the video.")
        if self.duration_s is not None and t > self.duration_s:
            raise SyncPointError(f"A sync point must be inside the video (0:00–{_mmss(self.duration_s)}).")
        return t

    def _commit(self, points, note: str) -> None:
        pts = tuple(sorted(points))
        if pts == self.sync_points_s:
            return
        self._undo.append(self.sync_points_s)
        self._redo.clear()
        self._apply(pts, note)

    def _apply(self, pts: tuple, note: str) -> None:
        self.sync_points_s = pts
        self.events.sync_points.emit(points_s=pts)
        if self.candidate is not None:
            self.edit = None
            self._request(note)

    def add_sync_point(self, t_s: float) -> float:
        """Add a sync point (raises :class:`SyncPointError` with a sentence when it cannot be used)."""
        t = self._validate(t_s)
        if any(abs(t - s) < SYNC_POINT_MERGE_S for s in self.sync_points_s):
            return t
        self._commit(self.sync_points_s + (t,), "Landing a downbeat on the new sync point…")
        return t

    def move_sync_point(self, index: int, t_s: float) -> float:
        t = self._validate(t_s)
        pts = list(self.sync_points_s)
        if not 0 <= index < len(pts):
            raise SyncPointError("There is no such sync point.")
        pts[index] = t
        self._commit(pts, "Moving the sync point…")
        return t

    def remove_sync_point(self, index: int) -> None:
        pts = list(self.sync_points_s)
        if 0 <= index < len(pts):
            del pts[index]
            self._commit(pts, "Removing the sync point…")

    def clear_sync_points(self) -> None:
        self._commit((), "Removing the sync points…")

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.sync_points_s)
        self._apply(self._undo.pop(), "Undoing…")
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.sync_points_s)
        self._apply(self._redo.pop(), "Redoing…")
        return True

    # -- the edit ---------------------------------------------------------------------------------------
    def matches(self, edit) -> bool:
        """Whether ``edit`` was built for the current candidate, sync points and start."""
        if edit is None or self.candidate is None or edit.candidate.key() != self.candidate.key():
            return False
        if tuple(round(float(s), 3) for s in edit.sync_points_s) != tuple(round(s, 3) for s in self.sync_points_s):
            return False
        want = self.start_offset_s()
        return want is None or (edit.start_offset_s is not None and abs(float(edit.start_offset_s) - want) < 1e-6)

    def edit_ready(self, edit) -> bool:
        """An edit arrived: kept (and shown) only when it matches the current inputs."""
        if not self.matches(edit):
            return False
        self.edit = edit
        self.events.edit.emit(edit=edit)
        self._set_status("ready")
        return True

    def edit_failed(self, sentence: str) -> None:
        self._set_status("failed", sentence)

    def request_rebuild(self, note: str = "Updating the edit…") -> None:
        """Ask for the current candidate's edit again (e.g. the video's segments changed)."""
        if self.candidate is not None:
            self.edit = None
            self._request(note)

    # -- what the views show -----------------------------------------------------------------------------
    def sync_score(self) -> Optional[float]:
        """The fit of what is shown: the ready edit's, else None while it is rebuilt after a change, else
        the recommendation's (the edit it made, before any change)."""
        if self.edit is not None:
            return self.edit.sync_score
        if self.candidate is None or self.status == "updating" and self._changed_by_user():
            return None
        return getattr(self.candidate, "sync_score", None)

    def fit_score(self) -> Optional[float]:
        """The fit (sync + form, what the list is ordered by) of what is shown, by the same rules as
        :meth:`sync_score`: the header, the reasons and the table's Fit cell all show this one."""
        if self.edit is not None:
            return fit_of(self.edit)
        if self.candidate is None or self.status == "updating" and self._changed_by_user():
            return None
        return fit_of(self.candidate)

    def _changed_by_user(self) -> bool:
        return bool(self.sync_points_s) or self.start_offset_s() is not None

    def _request(self, note: str) -> None:
        self._set_status("updating", note)
        self.events.rebuild_requested.emit(candidate=self.candidate, sync_points_s=self.sync_points_s,
                                           start_offset_s=self.start_offset_s())

    def _set_status(self, status: str, note: str = "") -> None:
        self.status, self.note = status, note
        self.events.status.emit(status=status, note=note)


def _mmss(t_s: float) -> str:
    m, s = divmod(max(0.0, float(t_s)), 60.0)
    return f"{int(m)}:{s:04.1f}"
