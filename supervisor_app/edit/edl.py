"""Edit engine: cut a music track to a picture along an alignment, splicing on downbeats.

A mockup is an ordered list of music :class:`Excerpt` s laid end to end under the video, covering
``[0, video_duration_s]`` exactly. Slicing only (no time-stretch): every excerpt plays its music at
speed 1, so ``music_out_s - music_in_s == video_end_s - video_start_s``. All times are seconds.

Algorithm (:func:`build_edit`)
------------------------------
1. *Normalise.* Video cuts = the interior video segment boundaries (ends within 20 ms of 0 or the
   duration are dropped); video segment ``j`` is ``[V[j], V[j+1]]`` with ``V = [0, *cuts, D]``.
   Music segment ``i`` starts at its boundary snapped to the nearest downbeat (segment 0 starts on the
   first downbeat). ``d_last`` is the last downbeat: a splice *out* never goes past it, only the
   final excerpt may play on to the end of the track (its ring-out).
2. *Cues* (where the music should change section). With a ``path`` of ``(i_music, j_video)`` pairs,
   each video segment takes the first music segment it is paired with (unpaired segments carry the
   music on); a cue is placed at the start of every run of video segments that share a music segment,
   asking for that segment's start. If the path's first paired video segment starts after 0 (local
   SW-DTW path), the head is back-timed so the music arrives at that segment naturally. Without a
   path, one cue at 0 asks for the downbeat nearest ``start_offset_s`` (default: the first downbeat).
3. *Walk* the picture from 0 to D, keeping the open excerpt ``(t, m)`` (it started at video time
   ``t`` at music time ``m``). The possible splice times of the open excerpt are its *grid*:
   ``t + (d - m)`` for the downbeats ``d > m``; splicing there puts the out on a downbeat, and the
   next excerpt starts on a downbeat (a segment start), so every internal in/out is a bar line.
   At each cue: if the music already is in (or within ``tolerance_s`` of) the wanted segment, no splice
   (the music stays continuous). Otherwise the splice goes to the grid point nearest the cut, or nearest
   another picture cut within one bar when that one is within tolerance of the grid and the cue's own
   cut is not; with ``allow_anticipation`` a downbeat *after* the cut (picture cut slightly before the
   bar line, as editors do: thesis ch. 6 and App. D) costs half as much as one before it. The excerpt
   records ``cut_s`` (the picture cut aimed at) and ``snap_offset_s = video_start_s - cut_s``. A cue
   whose grid point would leave an excerpt shorter than half a bar re-targets the open excerpt instead.
4. *Loops* (video longer than the music available): when the open excerpt would run past ``d_last``,
   it is spliced at a downbeat in its last four bars (the one nearest a picture cut if within
   tolerance, else the latest) back to the start of the segment the current cue asked for (or the
   path's first segment when that is too close to the end), so sections repeat in the path's order.
5. *Sync points* (video times that must get a downbeat). Splicing bar line to bar line never changes
   where the bar lines fall in video time (with a steady tempo, ``phase = t mod bar`` is kept), so the
   phase is set once, at the head: the edit is built without sync points, then rebuilt with the first
   excerpt starting ``delta`` seconds off its downbeat (a *pickup*, faded in by the renderer) so that
   the nearest downbeat lands on the first sync point. Every internal splice stays on bar lines; only
   the head's in is mid-bar (``Edit.head_pickup_s``, and its reason says so). Without sync points the
   optional ``phase_anchor_s`` (e.g. the picture cut that best fits the bar grid) is used the same way,
   as a preference. A later sync point still missed by more than 10 ms gets a hit-point splice exactly
   on it: the incoming excerpt enters on the segment start within two bars of the natural position
   (else the nearest downbeat) and the outgoing excerpt is cut mid-bar (its reason says so), the only
   case where an internal out is not a downbeat; a section change snapped to within half a bar of the
   point (before or after it) is moved onto it instead.
6. *Ending* (``prefer_track_ending``). If the final excerpt does not already end inside the track's
   ending (between the last downbeat and the end of the file) or within tolerance of a section
   boundary, one more splice (at a grid point 1-8 bars before the end, at least half a bar after the
   last cue, after the last sync point, nearest a picture cut) jumps to the excerpt whose out falls in
   the track's ending, letting the final hit ring for up to 1 s, where the grid allows it. Otherwise
   the music ends where it falls, mid-phrase (``Edit.ending`` says which; the renderer fades it out).

The result is deterministic and records per excerpt the video span, music in/out, the cut it was
snapped to, the snapping offset, the music segment and a human-readable reason.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import numpy as np

from supervisor_app.infra.errors import AnalysisError, UsageError

__all__ = ["Excerpt", "Splice", "Edit", "build_edit", "SYNC_LANDING_S", "EDGE_EPS_S"]

SYNC_LANDING_S = 0.010  # a downbeat within this of a sync point "lands" on it (s)
EDGE_EPS_S = 0.020  # video boundaries closer than this to 0 or the end are ignored (s)
_EPS = 1e-6


@dataclass(frozen=True)
class Excerpt:
    """One music excerpt placed under the picture (seconds).

    ``cut_s`` is the picture cut the excerpt's start was snapped to (None for the head, for loops not
    aimed at a cut); ``snap_offset_s = video_start_s - cut_s`` (> 0: the picture cut comes before the
    downbeat). ``music_segment`` is the music segment index the excerpt starts in (-1 if unknown).
    """

    video_start_s: float
    video_end_s: float
    music_in_s: float
    music_out_s: float
    snap_offset_s: float = 0.0
    reason: str = ""
    cut_s: float | None = None
    music_segment: int = -1

    @property
    def duration_s(self) -> float:
        return self.video_end_s - self.video_start_s

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Excerpt":
        cut = d.get("cut_s")
        return cls(video_start_s=float(d["video_start_s"]), video_end_s=float(d["video_end_s"]),
                   music_in_s=float(d["music_in_s"]), music_out_s=float(d["music_out_s"]),
                   snap_offset_s=float(d.get("snap_offset_s", 0.0)), reason=str(d.get("reason", "")),
                   cut_s=None if cut is None else float(cut), music_segment=int(d.get("music_segment", -1)))


Splice = Excerpt  # the brief's other name for the same record


@dataclass
class Edit:
    """An edit decision list: excerpts laid end to end over ``[0, video_duration_s]`` (seconds)."""

    excerpts: list[Excerpt]
    video_duration_s: float
    music_duration_s: float
    sync_points_s: tuple[float, ...] = ()
    tolerance_s: float = 0.25
    notes: list[str] = field(default_factory=list)
    ending: str = ""  # how the music ends: 'track ending', 'section end', 'section boundary', 'fade' or 'mid-phrase'
    head_pickup_s: float = 0.0  # how far the first excerpt starts off its downbeat (s; 0: on it)
    fade_out_s: float = 0.0  # planned fade-out at the picture's end (s; 0: the renderer's default)
    plan: dict = field(default_factory=dict)  # the form planner's numbers (edit.form.plan_edit); {} otherwise

    # --- queries ---------------------------------------------------------------------------------
    def splice_times_s(self) -> np.ndarray:
        """Video times of the internal splices (excerpt starts after the first), seconds."""
        return np.array([e.video_start_s for e in self.excerpts[1:]], dtype=float)

    def music_to_video(self, music_times_s: Iterable[float]) -> np.ndarray:
        """Every video time at which one of ``music_times_s`` plays (sorted; repeats appear twice)."""
        mt = np.asarray(list(music_times_s) if not isinstance(music_times_s, np.ndarray) else music_times_s,
                        dtype=float).ravel()
        out = []
        last = len(self.excerpts) - 1
        for k, e in enumerate(self.excerpts):
            hi = e.music_out_s + (_EPS if k == last else -_EPS)
            sel = mt[(mt >= e.music_in_s - _EPS) & (mt < hi)]
            out.append(e.video_start_s + (sel - e.music_in_s))
        if not out:
            return np.zeros(0)
        v = np.sort(np.concatenate(out))
        return v[(v >= -_EPS) & (v <= self.video_duration_s + _EPS)]

    def video_to_music(self, video_t_s: float) -> float:
        """Music time playing at video time ``video_t_s`` (seconds)."""
        for e in self.excerpts:
            if video_t_s < e.video_end_s or e is self.excerpts[-1]:
                return e.music_in_s + (video_t_s - e.video_start_s)
        raise ValueError("empty edit")

    def markers(self) -> list[tuple[float, str, str]]:
        """``(video_time_s, kind, label)`` for each splice (kind 'splice') and sync point (kind 'sync')."""
        out = []
        for k, e in enumerate(self.excerpts[1:], start=1):
            prev = self.excerpts[k - 1]
            out.append((e.video_start_s, "splice",
                        f"splice {k}: music {prev.music_out_s:.3f}s -> {e.music_in_s:.3f}s"
                        f" (snap {e.snap_offset_s * 1000:+.0f} ms)"))
        for p in self.sync_points_s:
            out.append((float(p), "sync", f"sync point {float(p):.3f}s"))
        out.sort(key=lambda x: (x[0], x[1]))
        return out

    # --- (de)serialisation -----------------------------------------------------------------------
    # version 2 adds fade_out_s and plan; a version-1 dict reads with their defaults (0.0, {})
    def to_dict(self) -> dict:
        return {"version": 2, "video_duration_s": self.video_duration_s,
                "music_duration_s": self.music_duration_s, "sync_points_s": list(self.sync_points_s),
                "tolerance_s": self.tolerance_s, "notes": list(self.notes), "ending": self.ending,
                "head_pickup_s": self.head_pickup_s, "fade_out_s": self.fade_out_s, "plan": dict(self.plan),
                "excerpts": [e.to_dict() for e in self.excerpts]}

    @classmethod
    def from_dict(cls, d: dict) -> "Edit":
        return cls(excerpts=[Excerpt.from_dict(x) for x in d["excerpts"]],
                   video_duration_s=float(d["video_duration_s"]), music_duration_s=float(d["music_duration_s"]),
                   sync_points_s=tuple(float(p) for p in d.get("sync_points_s", ())),
                   tolerance_s=float(d.get("tolerance_s", 0.25)), notes=list(d.get("notes", [])),
                   ending=str(d.get("ending", "")), head_pickup_s=float(d.get("head_pickup_s", 0.0)),
                   fade_out_s=float(d.get("fade_out_s", 0.0)), plan=dict(d.get("plan") or {}))


# ================================================================================================
@dataclass
class _Cue:
    video_s: float
    target_s: float  # a downbeat
    segment: int
    reason: str


class _Plan:
    """Normalised inputs shared by the walks."""

    def __init__(self, video_duration_s, video_boundaries_s, music_duration_s, downbeats_s, music_boundaries_s,
                 tolerance_s, allow_anticipation):
        self.D = float(video_duration_s)
        self.M = float(music_duration_s)
        if not (math.isfinite(self.D) and self.D > 0):
            raise UsageError("The video duration must be a positive number of seconds.")
        if not (math.isfinite(self.M) and self.M > 0):
            raise UsageError("The track duration must be a positive number of seconds.")
        if tolerance_s < 0:
            raise UsageError("The snapping tolerance must not be negative.")
        self.tol = float(tolerance_s)
        self.anticipation = bool(allow_anticipation)
        vb = np.unique(np.asarray(video_boundaries_s if video_boundaries_s is not None else [], float).ravel())
        self.cuts = vb[(vb > EDGE_EPS_S) & (vb < self.D - EDGE_EPS_S)]
        self.V = np.concatenate([[0.0], self.cuts, [self.D]])
        db = np.unique(np.asarray(downbeats_s if downbeats_s is not None else [], float).ravel())
        db = db[(db >= 0) & (db < self.M)]
        if db.size < 2:
            raise AnalysisError("The track cannot be cut on bars: fewer than two downbeats were found in it.")
        self.grid = db
        self.bar = float(np.median(np.diff(db)))
        self.d_last = float(db[-1])
        mb = np.unique(np.asarray(music_boundaries_s if music_boundaries_s is not None else [], float).ravel())
        mb = mb[(mb > EDGE_EPS_S) & (mb < self.M - EDGE_EPS_S)]
        # segment i starts at its boundary snapped to the nearest downbeat; segment 0 at the first downbeat
        starts = [float(db[0])] + [self.nearest_downbeat(b) for b in mb]
        self.seg_start = np.maximum.accumulate(np.array(starts))
        self.n_music_segs = len(self.seg_start)
        self.n_video_segs = len(self.V) - 1

    def nearest_downbeat(self, x: float, hi: float | None = None) -> float:
        g = self.grid if hi is None else self.grid[self.grid <= hi + _EPS]
        if g.size == 0:
            g = self.grid[:1]
        return float(g[np.argmin(np.abs(g - x))])

    def segment_of(self, x: float) -> int:
        return int(np.searchsorted(self.seg_start[1:], x + _EPS, side="right"))

    def nearest_cut(self, t: float) -> float | None:
        if self.cuts.size == 0:
            return None
        return float(self.cuts[np.argmin(np.abs(self.cuts - t))])

    def snap_cost(self, g: np.ndarray, cut: float) -> np.ndarray:
        """Cost of a splice at grid times ``g`` for a picture cut at ``cut`` (s; lower is better)."""
        off = g - cut
        cost = np.abs(off)
        if self.anticipation:
            cost = np.where(off >= 0, 0.5 * cost, cost)
        return np.where(np.abs(off) <= self.tol + _EPS, cost, 10.0 + np.abs(off))


class _Walk:
    """One pass over the picture producing excerpts."""

    def __init__(self, plan: _Plan, cues: list[_Cue], loop_fallback_s: float, head_shift_s: float,
                 sync_points_s: Sequence[float], prefer_track_ending: bool, anchor_label: str = ""):
        self.p = plan
        self.cues = cues
        self.loop_fallback = loop_fallback_s
        self.sync = sorted(float(x) for x in sync_points_s)
        self.prefer_ending = prefer_track_ending
        head = cues[0]
        self.out: list[Excerpt] = []
        self.t = 0.0
        self.m = head.target_s + head_shift_s
        self.cut: float | None = None
        self.snap = 0.0
        self.seg = head.segment
        self.reason = head.reason
        if abs(head_shift_s) > _EPS:
            self.reason += (f"; head pickup: starts {head_shift_s:+.3f}s off the downbeat so that a downbeat"
                            f" lands on {anchor_label}")
        self.cue_target = head
        self.landed: list[float] = []
        self.lock_s = -1.0  # latest landed sync point: no splice may go before it
        self.last_cue_s = 0.0  # the ending may not override what the path asked for
        self.notes: list[str] = []
        self.ending = "mid-phrase"

    # -- primitives -----------------------------------------------------------------------------------
    def close(self, at: float, extra: str = "") -> None:
        self.out.append(Excerpt(self.t, at, self.m, self.m + (at - self.t), self.snap,
                                self.reason + extra, self.cut, self.seg))

    def open(self, at: float, m: float, reason: str, cut: float | None, seg: int) -> None:
        self.t, self.m, self.reason, self.cut, self.seg = at, m, reason, cut, seg
        self.snap = 0.0 if cut is None else at - cut

    def grid_points(self, hi_music: float | None = None):
        """Downbeats after the open excerpt's in (up to d_last) and their video times."""
        p = self.p
        hi = p.d_last if hi_music is None else hi_music
        ds = p.grid[(p.grid > self.m + _EPS) & (p.grid <= hi + _EPS)]
        return ds, self.t + (ds - self.m)

    def loop_target(self) -> tuple[float, int]:
        p = self.p
        tgt = self.cue_target
        if tgt.target_s < p.d_last - 0.99 * p.bar:
            return tgt.target_s, tgt.segment
        return self.loop_fallback, p.segment_of(self.loop_fallback)

    # -- steps ----------------------------------------------------------------------------------------
    def advance_to(self, T: float, final: bool) -> None:
        """Loop as needed so that the open excerpt can play until video time ``T``."""
        p = self.p
        limit = p.M if final else p.d_last
        guard = 0
        while self.m + (T - self.t) > limit + _EPS:
            guard += 1
            if guard > 10000:  # pragma: no cover - defensive
                raise AnalysisError("The edit could not be built: the track is too short to loop.")
            ds, gs = self.grid_points()
            keep = (ds >= p.d_last - 4 * p.bar - _EPS) & (gs > self.t + _EPS) & (gs >= self.lock_s - _EPS)
            if not keep.any():
                keep = (gs > self.t + _EPS) & (gs >= self.lock_s - _EPS)
            ds, gs = ds[keep], gs[keep]
            tgt_m, tgt_seg = self.loop_target()
            if ds.size == 0:
                # nothing left to play from here: re-target the open excerpt (it has not played yet)
                if self.m == tgt_m:
                    tgt_m, tgt_seg = float(p.grid[0]), 0
                self.m, self.seg = tgt_m, tgt_seg
                self.reason += f"; re-targeted to {tgt_m:.3f}s (track ran out)"
                continue
            k = len(ds) - 1
            cut = None
            if p.cuts.size:
                dist = np.array([abs(g - p.nearest_cut(g)) for g in gs])
                j = int(np.argmin(dist))
                if dist[j] <= p.tol + _EPS:
                    k, cut = j, p.nearest_cut(gs[j])
            g = float(gs[k])
            self.close(g)
            self.open(g, tgt_m, f"loop: the track ran out, repeats music segment {tgt_seg} from {tgt_m:.3f}s",
                      cut, tgt_seg)

    def handle_cue(self, cue: _Cue) -> None:
        p = self.p
        self.advance_to(min(cue.video_s + 0.5 * p.bar, p.D), final=False)
        self.cue_target = cue
        self.last_cue_s = cue.video_s
        n = self.m + max(0.0, cue.video_s - self.t)
        here = {float(p.seg_start[p.segment_of(n)]), float(p.seg_start[p.segment_of(n + p.tol)])}
        if cue.target_s in here:
            return  # already in (or arriving at) the wanted section: the music stays continuous
        ds, gs = self.grid_points()
        ok = (gs >= self.lock_s - _EPS) & (gs < p.D - 0.25 * p.bar)
        ds, gs = ds[ok], gs[ok]
        if ds.size == 0:
            return
        near = p.cuts[np.abs(p.cuts - cue.video_s) <= p.bar + _EPS] if p.cuts.size else np.zeros(0)
        cand_cuts = np.unique(np.concatenate([[cue.video_s], near]))
        best = None
        for c in cand_cuts:
            cost = p.snap_cost(gs, c) + 0.05 * abs(c - cue.video_s)
            k = int(np.argmin(cost))
            if best is None or cost[k] < best[0] - 1e-12:
                best = (float(cost[k]), k, float(c))
        _, k, c = best
        g = float(gs[k])
        far = abs(g - c) > p.tol + _EPS
        reason = cue.reason + (f"; snapped {g - c:+.3f}s, beyond the {p.tol:.2f}s tolerance" if far else "")
        if g - self.t < 0.5 * p.bar and self.lock_s <= self.t + _EPS:
            # too close to the previous splice: the open excerpt takes the new target instead
            self.m, self.seg = cue.target_s, cue.segment
            self.reason = reason + " (re-targeted: previous splice within half a bar)"
            return
        self.close(g)
        self.open(g, cue.target_s, reason, c, cue.segment)

    def handle_sync(self, ps: float) -> None:
        p = self.p
        if ps < self.t - _EPS:
            # the open excerpt was snapped to start after the point: move its start (a downbeat) onto it
            while self.out and self.out[-1].video_start_s >= ps - _EPS:
                self.out.pop()  # pragma: no cover - only with several splices within half a bar
            prev = self.out.pop()
            self.out.append(Excerpt(prev.video_start_s, ps, prev.music_in_s,
                                    prev.music_in_s + (ps - prev.video_start_s), prev.snap_offset_s,
                                    prev.reason + f"; cut mid-bar at the sync point {ps:.3f}s", prev.cut_s,
                                    prev.music_segment))
            self.t, self.snap = ps, (0.0 if self.cut is None else ps - self.cut)
            self.reason += f"; moved back onto the sync point {ps:.3f}s"
            self.lock_s = ps
            self.landed.append(ps)
            return
        self.advance_to(ps, final=False)
        n = self.m + (ps - self.t)
        self.lock_s = ps
        if np.min(np.abs(p.grid - n)) <= SYNC_LANDING_S or abs(self.t - ps) <= SYNC_LANDING_S:
            self.landed.append(ps)
            return
        # move a section change that happened less than half a bar before the point onto it
        movable = self.out and self.out[-1].video_start_s > max(self.landed, default=-1.0)
        if movable and 0 < ps - self.t < 0.5 * p.bar:
            prev = self.out[-1]
            if prev.music_in_s + (ps - prev.video_start_s) <= p.M:
                self.out.pop()
                self.out.append(Excerpt(prev.video_start_s, ps, prev.music_in_s,
                                        prev.music_in_s + (ps - prev.video_start_s), prev.snap_offset_s,
                                        prev.reason + f"; extended mid-bar to the sync point {ps:.3f}s",
                                        prev.cut_s, prev.music_segment))
                self.t, self.snap = ps, (0.0 if self.cut is None else ps - self.cut)
                self.reason += f"; moved onto the sync point {ps:.3f}s"
                self.landed.append(ps)
                return
        starts = p.seg_start[(np.abs(p.seg_start - n) <= 2 * p.bar + _EPS) & (p.seg_start < p.d_last - _EPS)]
        if starts.size:
            d = float(starts[np.argmin(np.abs(starts - n))])
            what = f"music segment {p.segment_of(d)} starts"
        else:
            d = p.nearest_downbeat(n, hi=p.d_last - p.bar)
            what = "a downbeat"
        self.close(ps, f"; cut mid-bar at {n:.3f}s so that {what} on the sync point")
        self.open(ps, d, f"sync point {ps:.3f}s: {what} on it ({d:.3f}s)", ps, p.segment_of(d))
        self.landed.append(ps)

    def finish(self) -> None:
        p = self.p
        self.advance_to(p.D, final=True)
        out_m = self.m + (p.D - self.t)
        tail_ok = p.d_last - _EPS <= out_m <= p.M + _EPS
        bnd = p.seg_start[1:]
        at_boundary = bnd.size and np.min(np.abs(bnd - out_m)) <= p.tol
        ending, self.ending = "", "mid-phrase"
        if tail_ok:
            ending, self.ending = "; ends in the track's ending", "track ending"
        elif at_boundary:
            ending, self.ending = "; ends on a section boundary", "section boundary"
        elif self.prefer_ending:
            after = max(self.sync) if self.sync else -1.0
            ds, gs = self.grid_points()
            best = None
            for g in gs:
                L = p.D - g
                too_early = g <= max(self.t, self.last_cue_s) + 0.5 * p.bar or g <= after + _EPS
                if too_early or not (p.bar - _EPS <= L <= 8 * p.bar + _EPS):
                    continue
                e_ok = p.grid[(p.grid + L >= p.d_last - _EPS) & (p.grid + L <= p.M + _EPS) & (p.grid < p.d_last)]
                if e_ok.size == 0:
                    continue
                ring = min(p.M - p.d_last, 1.0)  # let the final hit ring for up to 1 s before the picture ends
                e_best = float(e_ok[np.argmin(np.abs(e_ok + L - (p.d_last + ring)))])
                c = p.nearest_cut(g)
                cost = 20.0 if c is None else float(p.snap_cost(np.array([g]), c)[0])
                cost -= 0.01 * L / p.bar
                if best is None or cost < best[0]:
                    best = (cost, float(g), e_best, c)
            if best is not None:
                _, g, e, c = best
                if c is not None and abs(g - c) > p.tol + _EPS:
                    c = None
                self.close(g)
                self.open(g, e, f"ending: the track's last bars from {e:.3f}s", c, p.segment_of(e))
                ending, self.ending = "; ends in the track's ending", "track ending"
            else:
                self.notes.append("The music ends mid-phrase: no bar line allows landing on the track's ending.")
        self.close(p.D, ending)

    def run(self) -> list[Excerpt]:
        events = [(c.video_s, 1, c) for c in self.cues[1:]] + [(s, 0, s) for s in self.sync]
        events.sort(key=lambda x: (x[0], x[1]))
        for _, kind, obj in events:
            if kind == 1:
                self.handle_cue(obj)
            else:
                self.handle_sync(obj)
        self.finish()
        return self.out


def _cues_from_inputs(plan: _Plan, path, start_offset_s) -> tuple[list[_Cue], float]:
    p = plan
    cues: list[_Cue] = []
    loop_fallback = float(p.grid[0])
    if path is not None and len(path):
        pairs = [(int(i), int(j)) for i, j in path]
        for i, j in pairs:
            if not (0 <= i < p.n_music_segs):
                raise UsageError(f"The alignment path names music segment {i}, but the track has "
                                 f"{p.n_music_segs} segments.")
            if not (0 <= j < p.n_video_segs):
                raise UsageError(f"The alignment path names video segment {j}, but the video has "
                                 f"{p.n_video_segs} segments.")
        assign: dict[int, int] = {}
        for i, j in pairs:
            assign.setdefault(j, i)
        prev = None
        for j in range(p.n_video_segs):
            i = assign.get(j)
            if i is None or i == prev:
                continue
            cues.append(_Cue(float(p.V[j]), float(p.seg_start[i]), i,
                             f"path: music segment {i} under video segment {j}"))
            prev = i
        loop_fallback = cues[0].target_s if cues[0].target_s < p.d_last - p.bar else loop_fallback
        if cues[0].video_s > 0:
            # back-time the head so that the first paired segment arrives on its cut
            want = cues[0].target_s - cues[0].video_s
            head = p.nearest_downbeat(max(want, float(p.grid[0])), hi=p.d_last - p.bar)
            cues.insert(0, _Cue(0.0, head, p.segment_of(head),
                                f"head: back-timed from music segment {cues[0].segment}"))
    else:
        off = float(p.grid[0]) if start_offset_s is None else float(start_offset_s)
        head = p.nearest_downbeat(off, hi=p.d_last - p.bar) if p.grid.size > 2 else float(p.grid[0])
        why = "start: first downbeat" if start_offset_s is None else f"start: downbeat nearest offset {off:.3f}s"
        cues.append(_Cue(0.0, head, p.segment_of(head), why))
        loop_fallback = head
    if path is not None and len(path) and start_offset_s is not None:
        head = p.nearest_downbeat(float(start_offset_s), hi=p.d_last - p.bar)
        cues[0] = _Cue(0.0, head, p.segment_of(head), f"start: downbeat nearest offset {float(start_offset_s):.3f}s")
    return cues, loop_fallback


def build_edit(video_duration_s: float, video_boundaries_s: Sequence[float], music_duration_s: float,
               downbeats_s: Sequence[float], music_boundaries_s: Sequence[float],
               path: Sequence[tuple[int, int]] | None = None, start_offset_s: float | None = None,
               sync_points_s: Sequence[float] = (), tolerance_s: float = 0.25, allow_anticipation: bool = True,
               prefer_track_ending: bool = True, phase_anchor_s: float | None = None) -> Edit:
    """Cut a track to a picture on downbeats (see the module docstring for the algorithm).

    ``video_boundaries_s``: picture cuts / video segment boundaries (s); ``downbeats_s``: the track's
    bar lines (s); ``music_boundaries_s``: its section boundaries (s); ``path``: ``(i_music, j_video)``
    segment pairs from the alignment (NW/SW-DTW); ``start_offset_s``: music time to start from when
    there is no path; ``sync_points_s``: video times that must get a downbeat; ``tolerance_s``: how far
    a splice may sit from its picture cut and still count as on it; ``phase_anchor_s``: a video time
    (e.g. a picture cut) on which to land a downbeat by a head pickup when there is no sync point — a
    preference, not a requirement (no hit-point splice is made for it).
    """
    plan = _Plan(video_duration_s, video_boundaries_s, music_duration_s, downbeats_s, music_boundaries_s,
                 tolerance_s, allow_anticipation)
    sync = sorted(float(s) for s in sync_points_s)
    for s in sync:
        if not (0.0 <= s <= plan.D):
            raise UsageError(f"The sync point {s:.2f}s lies outside the video (0 to {plan.D:.2f}s).")
    cues, fallback = _cues_from_inputs(plan, path, start_offset_s)
    head_shift = 0.0
    anchor = sync[0] if sync else (None if phase_anchor_s is None else float(phase_anchor_s))
    label = ""
    if anchor is not None:
        if not (0.0 <= anchor <= plan.D):
            raise UsageError(f"The phase anchor {anchor:.2f}s lies outside the video (0 to {plan.D:.2f}s).")
        label = f"the sync point at {anchor:.3f}s" if sync else f"the anchor at {anchor:.3f}s"
        # dry run without sync points to find how far the anchor misses a downbeat
        dry = _Walk(plan, cues, fallback, 0.0, (), prefer_track_ending).run()
        probe_edit = Edit(dry, plan.D, plan.M)
        n = probe_edit.video_to_music(anchor)
        d = plan.nearest_downbeat(n)
        delta = d - n
        if abs(delta) > SYNC_LANDING_S and cues[0].target_s + delta < 0:
            later = plan.grid[plan.grid > n]
            delta = float(later[0] - n) if later.size else 0.0
        if abs(delta) > SYNC_LANDING_S:
            head_shift = delta
    walk = _Walk(plan, cues, fallback, head_shift, sync, prefer_track_ending, label)
    excerpts = walk.run()
    # merge zero-length leftovers (a splice exactly at the end or start)
    excerpts = [e for e in excerpts if e.video_end_s - e.video_start_s > 1e-9]
    _check(excerpts, plan)
    return Edit(excerpts, plan.D, plan.M, tuple(sync), plan.tol, walk.notes, walk.ending, head_shift)


def _check(excerpts: list[Excerpt], plan: _Plan) -> None:
    """Internal invariants: contiguous cover of [0, D], speed 1, music inside the file."""
    assert excerpts and abs(excerpts[0].video_start_s) < 1e-9 and abs(excerpts[-1].video_end_s - plan.D) < 1e-9
    for a, b in zip(excerpts, excerpts[1:]):
        assert abs(a.video_end_s - b.video_start_s) < 1e-9
    for e in excerpts:
        assert abs((e.music_out_s - e.music_in_s) - (e.video_end_s - e.video_start_s)) < 1e-9
        assert e.music_in_s >= -1e-9 and e.music_out_s <= plan.M + 1e-6, e
