"""Free-time edit engine: cut music without a reliable bar grid (pads, drones, rubato, free piano,
sound design) to a picture, and place short stings as a "button" at the end of a picture.

It produces the same :class:`~supervisor_app.edit.edl.Edit` of :class:`~supervisor_app.edit.edl.Excerpt` s
as the bar-line engine (:func:`~supervisor_app.edit.edl.build_edit`), as a :class:`FreeTimeEdit` that
also carries one crossfade length per splice (the renderer honours them) and its ``mode``.

Splice points (music times, :func:`splice_points`): the track's section boundaries (MSAF: phrase and
section ends), its quiet moments (local minima of the smoothed loudness, >= 3 dB under its median) and
its strong onsets (note attacks above the 90th percentile of onset strength). A splice from music time
``o`` (out) to ``i`` (in) costs :func:`splice_cost`: the RMS difference in dB between the log-mel spectra
around ``o`` and around ``i`` (what would have played vs what plays, over the crossfade) plus how loud
the out point is above the track's median; the equal-power crossfade is ``FREE_CROSSFADE_S`` (1.5 s).

Algorithm (:func:`build_free_time_edit`), a walk over the picture as in the bar-line engine:

1. *Head*: the music starts at ``start_offset_s`` snapped to the nearest splice point (default 0).
2. *Cues* (with an alignment ``path``): where the path asks for another music segment at a video
   segment start ``c``, the splice goes to the splice point nearest the music playing at ``c`` within
   ``tolerance_s`` (1 s: a long crossfade makes a splice's exact place less critical than a bar line),
   else exactly at ``c``; the incoming excerpt starts on the segment's boundary (a phrase start).
3. *Loops* (picture longer than the music left): before the track runs out, the pair (out, in) with
   ``in`` at least ``MIN_LOOP_S`` and ``LOOP_SHARE`` of the track earlier and the lowest splice cost
   (minus a small bonus for playing longer and for landing near a picture cut, plus a penalty for an in
   point already looped to) is spliced, as often as needed.
4. *Sync points*: a strong onset or phrase start lands on each (a splice with a short 0.3 s crossfade,
   from the onset nearest the music that would play there) unless one already does (within 50 ms).
5. *Ending*: if the music would stop mid-phrase, the cheapest splice 6-45 s (and at most 35 % of the
   picture) before its end to the material that ends with the track is taken (``Edit.ending`` 'track ending'), else
   the music fades out ('mid-phrase'); a track that already ends inside the picture's last seconds
   plays to its end.

:func:`build_button_edit`: a track shorter than the picture (a sting, a logo, a bumper) plays once,
ending with the picture (or with its first strong onset on the last sync point), the picture before it
silent: the music's excerpt starts after video time 0 (``Edit.excerpts[0].video_start_s > 0``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from supervisor_app.infra.errors import UsageError
from supervisor_app.edit.edl import EDGE_EPS_S, Edit, Excerpt

__all__ = ["FreeTimeEdit", "build_free_time_edit", "build_button_edit", "splice_points", "splice_cost",
           "splice_costs", "FREE_CROSSFADE_S", "SYNC_CROSSFADE_S", "edit_from_dict"]

FREE_CROSSFADE_S = 1.5  # equal-power crossfade at a free-time splice (s)
SYNC_CROSSFADE_S = 0.3  # shorter where an onset must land on a sync point (s)
FREE_TOLERANCE_S = 1.0  # how far a splice may move from its picture cut to reach a splice point (s)
MIN_EXCERPT_S = 4.0  # no excerpt shorter than this (s), except where a sync point forces one
MIN_LOOP_S = 10.0  # a loop jumps back at least this far (s) ...
LOOP_SHARE = 0.35  # ... and at least this share of the track (no short chunk repeated over and over)
ENDING_RANGE_S = (6.0, 45.0)  # how long the final excerpt that ends with the track may be (s) ...
ENDING_SHARE = 0.35  # ... and at most this share of the picture (the ending must not replace the edit)
ENDING_SLACK_S = 3.0  # the music may stop this much before the track's end and still "end with it" (s)
ONSET_LANDING_S = 0.05
_EPS = 1e-6


@dataclass
class FreeTimeEdit(Edit):
    """An :class:`Edit` made in free time (or as a button): ``crossfades_s[k]`` is the crossfade of
    splice ``k`` (before excerpt ``k + 1``), seconds; ``mode`` 'free-time' or 'button'."""

    crossfades_s: tuple = ()
    mode: str = "free-time"

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["mode"] = self.mode
        d["crossfades_s"] = [float(x) for x in self.crossfades_s]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FreeTimeEdit":
        base = Edit.from_dict(d)
        return cls(**{k: getattr(base, k) for k in base.__dataclass_fields__},
                   crossfades_s=tuple(float(x) for x in d.get("crossfades_s", ())), mode=str(d.get("mode", "free-time")))


def edit_from_dict(d: dict) -> Edit:
    """An :class:`Edit` or :class:`FreeTimeEdit` from its ``to_dict`` (by its ``mode``)."""
    return FreeTimeEdit.from_dict(d) if d.get("mode") in ("free-time", "button") else Edit.from_dict(d)


# ------------------------------------------------------------------------------------------------
def splice_points(envelope, boundaries_s: Sequence[float], music_duration_s: float) -> tuple[np.ndarray, list[str]]:
    """Candidate splice points (sorted music times, s) and their kinds: 'phrase end' (section
    boundaries), 'quiet moment' (low energy), 'onset' (strong attack)."""
    M = float(music_duration_s)
    key = (M, tuple(np.asarray(boundaries_s, float).ravel().tolist()))
    memo = getattr(envelope, "_splice_points_memo", None)  # a walk per candidate start asks the same (issue 21)
    if isinstance(memo, dict) and key in memo:
        return memo[key][0].copy(), list(memo[key][1])
    import bisect

    pts: dict[float, str] = {}
    keys: list[float] = []  # pts' keys, sorted
    for kind, arr in (("onset", envelope.strong_onsets_s()), ("quiet moment", envelope.low_energy_s()),
                      ("phrase end", np.asarray(boundaries_s, float))):
        for x in np.asarray(arr, float).ravel():
            if EDGE_EPS_S < x < M - EDGE_EPS_S:
                # a later kind (phrase end > quiet moment > onset) replaces an earlier one within 0.3 s
                lo, hi = bisect.bisect_left(keys, x - 0.3), bisect.bisect_right(keys, x + 0.3)
                for p in [p for p in keys[lo:hi] if abs(p - x) < 0.3]:
                    del pts[p]
                    keys.remove(p)
                r = round(float(x), 4)
                if r not in pts:
                    bisect.insort(keys, r)
                pts[r] = kind
    times = np.array(sorted(pts), dtype=float)
    kinds = [pts[t] for t in times]
    try:
        if not isinstance(memo, dict) or len(memo) > 8:  # the start search and the walks ask with other bounds
            memo = envelope._splice_points_memo = {}
        memo[key] = (times.copy(), list(kinds))
    except AttributeError:  # pragma: no cover - a frozen envelope
        pass
    return times, kinds


def splice_cost(envelope, out_s: float, in_s: float, context_s: float = FREE_CROSSFADE_S / 2) -> float:
    """How audible a splice from music time ``out_s`` to ``in_s`` is likely to be (0 = the same music;
    about 1 per clearly different feature): over ``±context_s`` around the two points (what would have
    played vs what plays during the crossfade), the RMS log-mel difference / 6 dB plus twice the chroma
    cosine distance (harmony); plus the out point's loudness above the track's median / 6 dB (quiet
    outs are safer); plus the step a listener hears, the half second before the out against the half
    second after the in (chroma distance + loudness difference / 6 dB)."""
    return float(splice_costs(envelope, out_s, np.array([in_s]), context_s)[0])


def splice_costs(envelope, out_s: float, ins_s: np.ndarray, context_s: float = FREE_CROSSFADE_S / 2) -> np.ndarray:
    """:func:`splice_cost` from one out point to each of ``ins_s`` (vectorised)."""
    e = envelope
    T = len(e.rms_db)
    w = max(1, int(round(context_s * e.rate_hz)))
    h = max(1, int(round(0.5 * e.rate_hz)))
    ko = e.frame(out_s)
    ki = np.clip(np.round(np.asarray(ins_s, float).ravel() * e.rate_hz).astype(int), 0, T - 1)
    offs = np.arange(-w, w + 1)
    io = np.clip(ko + offs, 0, T - 1)
    ii = np.clip(ki[:, None] + offs[None, :], 0, T - 1)
    timbre = np.sqrt(np.mean((e.mel_db[io][None] - e.mel_db[ii]) ** 2, axis=(1, 2))) / 6.0
    harmony = _cos_dist(e.chroma[io].mean(axis=0), e.chroma[ii].mean(axis=1))
    sm, med = _smoothed(e)
    loud = max(0.0, float(sm[ko] - med)) / 6.0
    pre = np.clip(np.arange(ko - h, ko), 0, T - 1)
    post = np.clip(ki[:, None] + np.arange(h)[None, :], 0, T - 1)
    step = _cos_dist(e.chroma[pre].mean(axis=0), e.chroma[post].mean(axis=1)) \
        + np.abs(float(e.rms_db[pre].mean()) - e.rms_db[post].mean(axis=1)) / 6.0
    return timbre + 2.0 * harmony + loud + step


def _cos_dist(a: np.ndarray, B: np.ndarray) -> np.ndarray:
    den = np.linalg.norm(B, axis=1) * float(np.linalg.norm(a))
    return np.where(den > 1e-9, 1.0 - (B @ a) / np.maximum(den, 1e-12), 0.0)


def _smoothed(e):
    cached = getattr(e, "_smoothed_cache", None)
    if cached is None:
        sm = e.smoothed_db()
        cached = (sm, float(np.median(sm)))
        try:
            e._smoothed_cache = cached
        except AttributeError:  # pragma: no cover - a frozen envelope
            pass
    return cached


# ------------------------------------------------------------------------------------------------
class _Walk:
    def __init__(self, D, cuts, M, env, bounds, crossfade_s, tol):
        self.D, self.cuts, self.M, self.env = D, cuts, M, env
        self.xf, self.tol = crossfade_s, tol
        self.pts, self.kinds = splice_points(env, bounds, M)
        # outs are phrase ends and quiet moments (cutting away at an attack would fade the note in its
        # prime); onsets serve as ins (an attack masks the entry) and as outs only when nothing else exists
        quiet = np.array([k != "onset" for k in self.kinds], dtype=bool)
        self.outs = self.pts[quiet] if quiet.sum() >= 2 else self.pts
        self.bounds = np.array(sorted(b for b in np.asarray(bounds, float) if EDGE_EPS_S < b < M - EDGE_EPS_S))
        self.onsets = env.strong_onsets_s()
        self.out: list[Excerpt] = []
        self.xfs: list[float] = []
        self.t = 0.0
        self.m = 0.0
        self.reason = ""
        self.cut: float | None = None
        self.seg = 0
        self.lock_s = -1.0
        self.loop_ins: list[float] = []
        self.notes: list[str] = []
        self.ending = "mid-phrase"

    def kind(self, x: float) -> str:
        """'phrase end', 'quiet moment', 'onset' or 'mid-phrase' (not a splice point), with its article."""
        if self.pts.size == 0:
            return "point mid-phrase"
        k = int(np.argmin(np.abs(self.pts - x)))
        return self.kinds[k] if abs(self.pts[k] - x) < 0.05 else "point mid-phrase"

    def segment_of(self, x: float) -> int:
        return int(np.searchsorted(self.bounds, x + _EPS, side="right"))

    def close(self, at: float, extra: str = "") -> None:
        t, at, m = float(self.t), float(at), float(self.m)
        self.out.append(Excerpt(t, at, m, m + (at - t), 0.0 if self.cut is None else t - float(self.cut),
                                self.reason + extra, None if self.cut is None else float(self.cut), int(self.seg)))

    def open(self, at: float, m: float, reason: str, cut: float | None, xf: float) -> None:
        self.t, self.m, self.reason, self.cut, self.seg = at, float(m), reason, cut, self.segment_of(m)
        self.xfs.append(float(xf))

    def cut_bonus(self, g: float) -> float:
        if self.cuts.size == 0:
            return 0.0
        d = float(np.min(np.abs(self.cuts - g)))
        return 1.0 if d <= self.tol else 0.0

    def advance_to(self, T: float, final: bool) -> None:
        """Loop as needed so that the open excerpt can play until video time ``T``."""
        guard = 0
        limit = self.M if final else self.M - self.xf
        while self.m + (T - self.t) > limit + _EPS:
            guard += 1
            if guard > 1000:  # pragma: no cover - defensive
                raise UsageError("The edit could not be built: the track is too short to loop.")
            lo = max(self.m + MIN_EXCERPT_S, self.M - 60.0, self.m + self.lock_s - self.t)
            hi = self.M - self.xf / 2
            outs = self.outs[(self.outs >= lo) & (self.outs <= hi)]
            if outs.size == 0:
                if hi - max(self.m, self.m + self.lock_s - self.t) < 0.5:
                    # nothing left to play from here: the open excerpt starts from the track's start instead
                    self.m = 0.0
                    self.seg = 0
                    self.reason += "; re-targeted to the track's start (the track ran out)"
                    continue
                outs = np.array([hi])
            best = None
            jump = max(MIN_LOOP_S, LOOP_SHARE * self.M)
            for o in outs:
                ins = np.concatenate([[0.0], self.pts[self.pts <= o - jump]])
                g = self.t + (o - self.m)
                # prefer playing on longer, landing near a picture cut, and music not looped to before
                reuse = np.array([self.loop_ins.count(round(float(i), 3)) for i in ins])
                c = (splice_costs(self.env, o, ins) - 0.005 * (o - self.m) - 0.3 * self.cut_bonus(g)
                     + 0.5 * reuse)
                k = int(np.argmin(c))
                if best is None or c[k] < best[0] - 1e-9:
                    best = (float(c[k]), float(o), float(ins[k]))
            _, o, i = best
            self.loop_ins.append(round(i, 3))
            g = self.t + (o - self.m)
            if g >= self.D - _EPS:  # pragma: no cover - guarded by the while condition
                break
            c = self.nearest_cut(g)
            self.close(g, f"; out at {_a(self.kind(o))} ({o:.2f}s)")
            self.open(g, i, f"loop: the picture outlasts the track; back to the {self.kind(i) if i > 0 else 'start'} at {i:.2f}s",
                      c, self.xf)

    def nearest_cut(self, g: float) -> float | None:
        if self.cuts.size == 0:
            return None
        c = float(self.cuts[np.argmin(np.abs(self.cuts - g))])
        return c if abs(c - g) <= self.tol + _EPS else None

    def handle_cue(self, video_s: float, target_s: float, seg: int, reason: str) -> None:
        self.advance_to(min(video_s + self.tol, self.D), final=False)
        n = self.m + (video_s - self.t)
        if self.segment_of(n) == seg or abs(n - target_s) <= self.tol:
            return  # already there: the music stays continuous
        lo, hi = n - self.tol, n + self.tol
        cand = self.outs[(self.outs >= lo) & (self.outs <= hi)]
        if cand.size:
            costs = [splice_cost(self.env, o, target_s) + 0.2 * abs(o - n) for o in cand]
            o = float(cand[int(np.argmin(costs))])
        else:
            o = n
        g = self.t + (o - self.m)
        if g - self.t < MIN_EXCERPT_S or g <= self.lock_s + _EPS or g >= self.D - MIN_EXCERPT_S:
            if g - self.t < MIN_EXCERPT_S and self.lock_s <= self.t + _EPS and not self.out:
                self.m, self.seg = target_s, seg
                self.reason = reason + " (re-targeted: the previous splice is too close)"
            return
        self.close(g, f"; out at {_a(self.kind(o))} ({o:.2f}s)")
        self.open(g, target_s, reason + f"; splice {g - video_s:+.2f}s from the cut", video_s, self.xf)

    def handle_sync(self, ps: float) -> None:
        self.advance_to(ps, final=False)
        n = self.m + (ps - self.t)
        hits = np.concatenate([self.onsets, self.bounds])
        if hits.size and np.min(np.abs(hits - n)) <= ONSET_LANDING_S:
            self.lock_s = ps
            return
        near = hits[(np.abs(hits - n) <= 8.0) & (hits < self.M - 1.0)]
        if ps - self.t < 0.25:  # the open excerpt will be shifted: it may not start before the track
            near = near[near - n + self.m >= 0.0]
        if near.size == 0:
            self.notes.append(f"No onset or phrase start could be put on the sync point {ps:.2f}s.")
            self.lock_s = ps
            return
        d = float(near[np.argmin(np.abs(near - n))])
        what = "a phrase start" if self.bounds.size and np.min(np.abs(self.bounds - d)) < 1e-6 else "a strong onset"
        if ps - self.t < 0.25:
            self.m += d - n  # the open excerpt has hardly played: shift it instead of splicing
            self.reason += f"; shifted so that {what} lands on the sync point {ps:.3f}s"
        else:
            self.close(ps, f"; cut at {n:.2f}s for the sync point")
            self.open(ps, d, f"sync point {ps:.3f}s: {what} on it ({d:.3f}s)", ps, SYNC_CROSSFADE_S)
        self.lock_s = ps

    def finish(self, prefer_ending: bool) -> None:
        self.advance_to(self.D, final=True)
        out_m = self.m + (self.D - self.t)
        tail_ok = out_m >= self.M - ENDING_SLACK_S
        if tail_ok:
            self.ending = "track ending"
            self.close(self.D, "; ends in the track's ending")
            return
        if prefer_ending:
            best = None
            lo_g = max(self.t + MIN_EXCERPT_S, self.lock_s + _EPS)
            ins = self.pts
            for o in self.outs[(self.outs > self.m) & (self.outs < out_m)]:
                g = self.t + (o - self.m)
                L = self.D - g
                if g < lo_g or not (ENDING_RANGE_S[0] <= L <= min(ENDING_RANGE_S[1], ENDING_SHARE * self.D)):
                    continue
                # the final excerpt [i, i + L] stops within ENDING_SLACK_S of the track's end: on a splice
                # point when one allows it, else exactly at the end
                cand = ins[(ins + L <= self.M + _EPS) & (ins + L >= self.M - ENDING_SLACK_S) & (ins > o + 1.0)]
                cand = np.concatenate([cand, [self.M - L] if self.M - L > o + 1.0 else []])
                if cand.size == 0:
                    continue
                c = splice_costs(self.env, o, cand) - 0.3 * self.cut_bonus(g) + 0.05 * (self.M - cand - L)
                k = int(np.argmin(c))
                if best is None or c[k] < best[0]:
                    best = (float(c[k]), float(o), float(cand[k]), g)
            if best is not None:
                _, o, i, g = best
                self.close(g, f"; out at {_a(self.kind(o))} ({o:.2f}s)")
                self.open(g, i, f"ending: the track's last {self.M - i:.1f}s from {_a(self.kind(i))} at {i:.2f}s",
                          self.nearest_cut(g), self.xf)
                self.ending = "track ending"
                self.close(self.D, "; ends in the track's ending")
                return
        q = "; ends at " + _a(self.kind(out_m)) if self.kind(out_m) != "point mid-phrase" else ""
        if not q:
            self.notes.append("The music ends mid-phrase (faded out): no splice to the track's ending fits.")
        self.ending = "mid-phrase" if not q else "section boundary"
        self.close(self.D, q)


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _video_cuts(video_boundaries_s, D) -> np.ndarray:
    vb = np.unique(np.asarray(video_boundaries_s if video_boundaries_s is not None else [], float).ravel())
    return vb[(vb > EDGE_EPS_S) & (vb < D - EDGE_EPS_S)]


def _check_inputs(D: float, M: float, sync) -> None:
    if not (math.isfinite(D) and D > 0):
        raise UsageError("The video duration must be a positive number of seconds.")
    if not (math.isfinite(M) and M > 0):
        raise UsageError("The track duration must be a positive number of seconds.")
    for s in sync:
        if not (0.0 <= s <= D):
            raise UsageError(f"The sync point {s:.2f}s lies outside the video (0 to {D:.2f}s).")


def build_free_time_edit(video_duration_s: float, video_boundaries_s: Sequence[float], music_duration_s: float,
                         envelope, music_boundaries_s: Sequence[float], path: Sequence[tuple[int, int]] | None = None,
                         start_offset_s: float | None = None, sync_points_s: Sequence[float] = (),
                         crossfade_s: float = FREE_CROSSFADE_S, tolerance_s: float = FREE_TOLERANCE_S,
                         prefer_track_ending: bool = True) -> FreeTimeEdit:
    """Cut a track without a bar grid to a picture (see the module docstring for the algorithm).

    ``envelope``: the track's :class:`~supervisor_app.analysis.envelope.MusicEnvelope`;
    ``music_boundaries_s``: its section boundaries (s; 0 and the end may be included); ``path``:
    ``(i_music, j_video)`` segment pairs of an alignment; the rest as in ``build_edit``.
    """
    D, M = float(video_duration_s), float(music_duration_s)
    sync = sorted(float(s) for s in sync_points_s)
    _check_inputs(D, M, sync)
    cuts = _video_cuts(video_boundaries_s, D)
    w = _Walk(D, cuts, M, envelope, music_boundaries_s, float(crossfade_s), float(tolerance_s))
    seg_start = np.concatenate([[0.0], w.bounds])
    V = np.concatenate([[0.0], cuts, [D]])
    cues: list[tuple[float, float, int, str]] = []
    if path is not None and len(path):
        assign: dict[int, int] = {}
        for i, j in path:
            i, j = int(i), int(j)
            if not (0 <= i < len(seg_start)):
                raise UsageError(f"The alignment path names music segment {i}, but the track has {len(seg_start)} segments.")
            if not (0 <= j < len(V) - 1):
                raise UsageError(f"The alignment path names video segment {j}, but the video has {len(V) - 1} segments.")
            assign.setdefault(j, i)
        prev = None
        for j in range(len(V) - 1):
            i = assign.get(j)
            if i is None or i == prev:
                continue
            cues.append((float(V[j]), float(seg_start[i]), i, f"path: music segment {i} under video segment {j}"))
            prev = i
    if start_offset_s is not None:
        off = float(start_offset_s)
        cand = np.concatenate([[0.0], w.pts[w.pts < M - 1.0]])
        head = float(cand[np.argmin(np.abs(cand - off))])
        head_reason = f"start: {w.kind(head) if head > 0 else 'track start'} nearest offset {off:.2f}s ({head:.2f}s)"
        cues = [c for c in cues if c[0] > 0]
    elif cues and cues[0][0] <= 0:
        head, head_reason = cues[0][1], cues[0][3]
        cues = cues[1:]
    else:
        head, head_reason = 0.0, "start: the track's start"
    w.m, w.seg, w.reason = head, w.segment_of(head), f"free time; {head_reason}"
    events = [(c[0], 1, c) for c in cues] + [(s, 0, s) for s in sync]
    events.sort(key=lambda x: (x[0], x[1]))
    for _, kind, obj in events:
        if kind == 1:
            w.handle_cue(obj[0], obj[1], obj[2], obj[3])
        else:
            w.handle_sync(obj)
    w.finish(prefer_track_ending)
    pairs = [(e, x) for e, x in zip(w.out, [None] + w.xfs) if e.video_end_s - e.video_start_s > 1e-9]
    excerpts = [e for e, _ in pairs]
    xfs = tuple(x for _, x in pairs[1:])
    _check(excerpts, D, M)
    n = len(excerpts) - 1
    notes = list(w.notes)
    notes.insert(0, f"free-time: splices on phrase ends, quiet moments and onsets with {crossfade_s:g} s crossfades"
                 + (f" ({n} splice(s))" if n else " (no splice needed)"))
    return FreeTimeEdit(excerpts, D, M, tuple(sync), float(tolerance_s), notes, w.ending, 0.0, crossfades_s=xfs, mode="free-time")


def build_button_edit(video_duration_s: float, music_duration_s: float, envelope=None,
                      sync_points_s: Sequence[float] = ()) -> FreeTimeEdit:
    """A short track (sting, logo, bumper) as the picture's button: it plays once and ends with the
    picture; with sync points, its first strong onset lands on the last one when it then fits."""
    D, M = float(video_duration_s), float(music_duration_s)
    sync = sorted(float(s) for s in sync_points_s)
    _check_inputs(D, M, sync)
    if M >= D:
        e = Excerpt(0.0, D, 0.0, D, 0.0, "button: the track plays from its start", None, 0)
        return FreeTimeEdit([e], D, M, tuple(sync), 0.25, [f"button: a {M:.1f} s track under a {D:.1f} s picture"],
                            "track ending" if M - D < 0.5 else "mid-phrase", 0.0, crossfades_s=(), mode="button")
    start = D - M
    why = f"button: the {M:.1f} s track ends with the picture (enters at {start:.2f}s)"
    if sync:
        hit = 0.0
        if envelope is not None:
            on = envelope.strong_onsets_s()
            hit = float(on[0]) if on.size else 0.0
        s = sync[-1] - hit
        if 0.0 <= s <= D - M:
            start = s
            why = f"button: its first hit ({hit:.2f}s into it) on the sync point {sync[-1]:.2f}s"
    e = Excerpt(start, D, 0.0, D - start, 0.0, why, None, 0)
    ending = "track ending" if (D - start) >= M - 0.5 else "mid-phrase"
    return FreeTimeEdit([e], D, M, tuple(sync), 0.25, [why], ending, 0.0, crossfades_s=(), mode="button")


def _check(excerpts: list[Excerpt], D: float, M: float) -> None:
    """Internal invariants: contiguous cover of [0, D], speed 1, music inside the file."""
    assert excerpts and abs(excerpts[0].video_start_s) < 1e-9 and abs(excerpts[-1].video_end_s - D) < 1e-9
    for a, b in zip(excerpts, excerpts[1:]):
        assert abs(a.video_end_s - b.video_start_s) < 1e-9
    for e in excerpts:
        assert abs((e.music_out_s - e.music_in_s) - (e.video_end_s - e.video_start_s)) < 1e-9
        assert e.music_in_s >= -1e-9 and e.music_out_s <= M + 1e-6, e
