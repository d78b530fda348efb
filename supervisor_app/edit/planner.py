"""Which edit engine cuts a track, chosen once for every caller (``recommend``, ``mockup``).

* **metric** — the track has a bar grid worth trusting
  (:func:`~supervisor_app.analysis.beat_confidence.beat_confidence` ``.metric``): splices on bar lines
  (:func:`~supervisor_app.edit.edl.build_edit`), fit by :func:`~supervisor_app.ranking.sync.sync_score`;
* **free-time** — no grid, or an unreliable one: splices on phrase ends, quiet moments and onsets with
  long crossfades (:func:`~supervisor_app.edit.free_time.build_free_time_edit`), fit against the
  track's onsets and section changes (:func:`~supervisor_app.ranking.sync.free_time_sync_score`);
* **button** — a track of at most ``SHORT_TRACK_S`` that is shorter than the picture (a sting, logo or
  bumper): it plays once and ends the picture (:func:`~supervisor_app.edit.free_time.build_button_edit`).

:class:`TrackEvents` carries what the engines need; the envelope (onsets, loudness, spectra) is
decoded only for the tracks that need it and cached by content hash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from supervisor_app.analysis.beat_confidence import BeatConfidence, beat_confidence

__all__ = ["TrackEvents", "edit_mode", "plan_edit", "fit_edit", "score_edit", "mode_reason", "SHORT_TRACK_S",
           "MODES"]

SHORT_TRACK_S = 20.0  # tracks this short and shorter than the picture are placed as a button (s)
MODES = ("metric", "free-time", "button")


@dataclass
class TrackEvents:
    """A track's events for editing (seconds): bar lines, section boundaries [0, ..., duration], the
    beat grid's confidence; ``envelope()`` decodes (once, cached) what free time cuts on."""

    path: str
    duration_s: float
    downbeats_s: np.ndarray
    boundaries_s: np.ndarray
    tempo_bpm: float | None
    confidence: BeatConfidence
    content_hash: str | None = None
    title: str = ""
    artist: str = ""
    _envelope: object = field(default=None, repr=False)
    stored_onsets_s: np.ndarray | None = field(default=None, repr=False)  # the catalog's free-time points

    def strong_onsets_s(self):  # -> np.ndarray (unannotated: the editors take sequences)
        """The track's strong onsets (what free time is fitted on): stored at index time when there
        (:mod:`supervisor_app.indexing.free_time_points`), else from its envelope (decoded once, cached)."""
        if self.stored_onsets_s is not None and self._envelope is None:
            return np.asarray(self.stored_onsets_s, float)
        return self.envelope().strong_onsets_s()

    @classmethod
    def from_analyses(cls, path: str, duration_s: float, beats: dict | None, boundaries_s, *,
                      beats_error: str | None = None, content_hash: str | None = None, title: str = "",
                      artist: str = "") -> "TrackEvents":
        """From stored analyses: ``beats`` a BeatResult dict (None: failed, ``beats_error`` says why)."""
        D = float(duration_s)
        b = np.asarray(boundaries_s if boundaries_s is not None else [], float).ravel()
        if b.size < 2:
            b = np.array([0.0, D])
        conf = beat_confidence(beats, D, beats_error)
        db = np.asarray(beats["downbeats_s"], float) if beats else np.zeros(0)
        tempo = float(beats["tempo_bpm"]) if beats and beats.get("tempo_bpm") else None
        return cls(str(path), D, db, b, tempo, conf, content_hash, title, artist)

    @classmethod
    def from_downbeats(cls, path: str, duration_s: float, downbeats_s, boundaries_s, **kwargs) -> "TrackEvents":
        """From bar lines alone (a recommendation carries no beat record): the grid is rebuilt from the
        downbeats (no grid under two of them). ``kwargs``: :meth:`from_analyses`' keywords."""
        db = [float(x) for x in downbeats_s]
        beats = {"beats_s": db, "downbeats_s": db, "tempo_bpm": None} if len(db) >= 2 else None
        return cls.from_analyses(path, duration_s, beats, boundaries_s, **kwargs)

    def envelope(self):
        if self._envelope is None:
            from supervisor_app.analysis.envelope import cached_envelope

            self._envelope = cached_envelope(self.path, self.content_hash)
        return self._envelope


def edit_mode(ev: TrackEvents, video_duration_s: float) -> str:
    """'button', 'metric' or 'free-time' for this track under a picture of ``video_duration_s``."""
    if ev.duration_s <= SHORT_TRACK_S and ev.duration_s < float(video_duration_s) - 0.5:
        return "button"
    return "metric" if ev.confidence.metric else "free-time"


def plan_edit(video_duration_s: float, video_boundaries_s: Sequence[float], ev: TrackEvents, *,
              path=None, start_offset_s: float | None = None, sync_points_s: Sequence[float] = (),
              mode: str | None = None, **kwargs):
    """The edit of ``ev`` under the picture by the engine :func:`edit_mode` picks (or ``mode``)."""
    mode = mode or edit_mode(ev, video_duration_s)
    if mode == "button":
        from supervisor_app.edit.free_time import build_button_edit

        env = ev.envelope() if sync_points_s else None
        return build_button_edit(video_duration_s, ev.duration_s, env, sync_points_s)
    if mode == "free-time":
        from supervisor_app.edit.free_time import build_free_time_edit

        return build_free_time_edit(video_duration_s, video_boundaries_s, ev.duration_s, ev.envelope(), ev.boundaries_s,
                                    path=path, start_offset_s=start_offset_s, sync_points_s=sync_points_s)
    from supervisor_app.edit.edl import build_edit

    return build_edit(video_duration_s, video_boundaries_s, ev.duration_s, ev.downbeats_s, ev.boundaries_s,
                      path=path, start_offset_s=start_offset_s, sync_points_s=sync_points_s, **kwargs)


def score_edit(edit, video_cuts_s: Sequence[float], cut_probs_25hz, ev: TrackEvents, mode: str | None = None, **kwargs):
    """The calibrated fit of ``edit``: against bar lines (metric) or onsets (free time, button)."""
    from supervisor_app.ranking.sync import free_time_sync_score, sync_score

    mode = mode or getattr(edit, "mode", "metric")
    if mode == "metric":
        return sync_score(edit, video_cuts_s, cut_probs_25hz, ev.downbeats_s, ev.boundaries_s, **kwargs)
    return free_time_sync_score(edit, video_cuts_s, cut_probs_25hz, ev.strong_onsets_s(), ev.boundaries_s,
                                **kwargs)


def fit_edit(video_duration_s: float, video_boundaries_s: Sequence[float], cut_probs_25hz, ev: TrackEvents, *,
             sync_points_s: Sequence[float] = (), mode: str | None = None):
    """The best start when there is no alignment path: ``(start_offset_s, edit, SyncScore)``."""
    from supervisor_app.ranking.sync import best_free_time_start, best_start_offset

    mode = mode or edit_mode(ev, video_duration_s)
    if mode == "button":
        edit = plan_edit(video_duration_s, video_boundaries_s, ev, sync_points_s=sync_points_s, mode=mode)
        return 0.0, edit, score_edit(edit, video_boundaries_s, cut_probs_25hz, ev, mode)
    if mode == "free-time":
        return best_free_time_start(video_duration_s, video_boundaries_s, cut_probs_25hz, ev.duration_s, ev.envelope(),
                                    ev.boundaries_s, sync_points_s=tuple(sync_points_s))
    return best_start_offset(video_duration_s, video_boundaries_s, cut_probs_25hz, ev.duration_s, ev.downbeats_s,
                             ev.boundaries_s, sync_points_s=tuple(sync_points_s))


def mode_reason(edit, ev: TrackEvents) -> str:
    """One sentence saying which engine cut the track and why."""
    mode = getattr(edit, "mode", "metric")
    if mode == "button":
        return f"button: the {ev.duration_s:.1f} s track plays once and ends the picture"
    if mode == "free-time":
        xf = sorted(set(round(x, 2) for x in getattr(edit, "crossfades_s", ()))) or [1.5]
        xs = " / ".join(f"{x:g}" for x in xf)
        n = max(0, len(edit.excerpts) - 1)
        count = f"{n} splice(s)" if n else "none needed here"
        return (f"free-time: splices on phrase ends, quiet moments and onsets with {xs} s crossfades "
                f"({count}; {ev.confidence.reason})")
    return f"metric: splices on bar lines ({ev.confidence.reason})"
