"""Sync score: how well the picture's cuts land on the music's bar lines and sections, through an edit.

The music's downbeats and section boundaries are mapped through the :class:`~supervisor_app.edit.Edit`
into video time (an event inside a repeated section appears once per repetition; every splice counts
as a section boundary too, since the listener hears a section change there; ``details['S_splices']``
reports the splices alone). Their co-occurrence with the video's shot-boundary curve is the thesis's S
(ch. 6, eq. 6.1: ``S_i = Σ_t w(t - t_i) f_shot(t)`` with a Gaussian window, sigma = 2 frames at 25 Hz,
``w(0) = 1``; S = mean of the S_i), computed by
:func:`supervisor_app.analysis.language_of_clips.cooccurrence_score` for the downbeats (``S_bar``) and
the boundaries (``S_seg``); ``S = (S_bar + S_seg) / 2`` (``S_bar`` alone when no boundary is heard).

Calibration. Raw S depends on how busy the picture is and on the music's event pattern (a fast tempo
puts some downbeat near any cut more often), so raw values do not compare across tracks. The same
edited music is therefore also slid against the picture by ``n_random`` random offsets (uniform over
the video duration, circular, fixed seed: deterministic), keeping its tempo, its event pattern and the
picture's cuts, and ``score`` is the excess of the observed S over the mean of those offsets,
``S - mean`` (S units; 0 when the picture has no cuts). The z-score ``(S - mean) / std`` and the
percentile are kept in ``details``: ranking by the z-score was measured to be at chance (a track with
few events has a tiny std, which inflates its z), see docs/EVALUATION.md. A positive score means the
edit puts the music's events on the cuts better than chance for this very track and video.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["SyncScore", "sync_score", "cooccurrence_rows", "cut_curve_from_times", "best_start_offset", "anchor_candidates",
           "free_time_sync_score", "best_free_time_start"]

RATE_HZ = 25.0  # the thesis's shot-curve rate (frames per second)
SIGMA_FRAMES = 2.0  # the thesis's Gaussian window (frames at 25 Hz)
HIT_WINDOW_S = 0.1  # a cut within this of a mapped downbeat counts as "on the downbeat" (s)
_STD_FLOOR = 1e-6


@dataclass
class SyncScore:
    """``score``: calibrated (z-score vs random offsets); ``S_bar``/``S_seg``: the thesis's S (mean of
    the S_i >= 0; 1 = a full-probability cut exactly on every event) for downbeats and section
    boundaries (NaN when there is none); ``n_cuts_on_downbeat``: picture cuts
    within ``HIT_WINDOW_S`` of a mapped downbeat; ``details``: the numbers behind them."""

    score: float
    S_bar: float
    S_seg: float
    n_cuts_on_downbeat: int
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def cut_curve_from_times(cuts_s: Sequence[float], duration_s: float, rate_hz: float = RATE_HZ) -> np.ndarray:
    """A shot-boundary curve with 1.0 at the frame of each cut (``rate_hz`` frames per second)."""
    n = int(math.ceil(duration_s * rate_hz)) + 1
    curve = np.zeros(n, dtype=np.float32)
    idx = np.round(np.asarray(cuts_s, float) * rate_hz).astype(int)
    curve[idx[(idx >= 0) & (idx < n)]] = 1.0
    return curve


def cooccurrence_rows(times_s: np.ndarray, curve: np.ndarray, rate_hz: float = RATE_HZ,
                      sigma_frames: float = SIGMA_FRAMES) -> np.ndarray:
    """The thesis's S for many event sets at once: ``times_s`` (m, n) -> (m,) with row ``r`` equal to
    ``cooccurrence_score(times_s[r], curve)[0]`` (:func:`supervisor_app.analysis.language_of_clips.
    cooccurrence_score`: a Gaussian window of ``sigma_frames`` frames, ``w(0) = 1``, frames farther than
    8 sigma skipped), computed as one numpy expression over (rows x events x window frames). NaN rows
    when ``n == 0``; 0 when the curve is empty. Equal to the per-event loop up to float rounding
    (tested)."""
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim == 1:
        t = t[None, :]
    m, n = t.shape
    if n == 0:
        return np.full(m, np.nan)
    f = np.asarray(curve, dtype=np.float64).ravel()
    if f.size == 0:
        return np.zeros(m)
    sigma_s = sigma_frames / rate_hz
    reach = int(math.ceil(8 * sigma_frames))
    centre = np.rint(t * rate_hz).astype(np.int64)  # round half to even, as Python's round()
    k = centre[..., None] + np.arange(-reach, reach + 1)  # (m, n, window)
    ok = (k >= 0) & (k < f.size)
    w = np.exp(-0.5 * ((k / rate_hz - t[..., None]) / sigma_s) ** 2)
    # np.clip's integer bounds without its per-call checks (~50 µs; the planner calls this per plan it scores)
    s_i = np.where(ok, w * f[np.minimum(np.maximum(k, 0), f.size - 1)], 0.0).sum(axis=-1)
    return s_i.mean(axis=-1)


def _S(times_s: np.ndarray, curve: np.ndarray, rate_hz: float, sigma_frames: float) -> float:
    times_s = np.asarray(times_s, dtype=np.float64).ravel()
    if times_s.size == 0:
        return float("nan")
    return float(cooccurrence_rows(times_s, curve, rate_hz, sigma_frames)[0])


def _combined(s_bar: float, s_seg: float) -> float:
    vals = [v for v in (s_bar, s_seg) if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def sync_score(edit, video_cuts_s: Sequence[float], cut_probs_25hz: np.ndarray | None,
               music_downbeats_s: Sequence[float], music_boundaries_s: Sequence[float], *,
               rate_hz: float = RATE_HZ, sigma_frames: float = SIGMA_FRAMES, n_random: int = 100,
               seed: int = 0, hit_window_s: float = HIT_WINDOW_S) -> SyncScore:
    """Score how the music's bar lines and sections, placed by ``edit``, meet the video's cuts.

    ``video_cuts_s``: picture cut times (s); ``cut_probs_25hz``: the shot-boundary probability curve
    (TransNet, ``rate_hz`` frames/s; None: built from ``video_cuts_s`` as 0/1 impulses);
    ``music_downbeats_s`` / ``music_boundaries_s``: the track's events in music time (s).
    """
    D = float(edit.video_duration_s)
    cuts = np.asarray(video_cuts_s if video_cuts_s is not None else [], float).ravel()
    if cut_probs_25hz is None or len(cut_probs_25hz) == 0:
        curve = cut_curve_from_times(cuts, D, rate_hz)
    else:
        curve = np.asarray(cut_probs_25hz, dtype=np.float32).ravel()
    v_db = edit.music_to_video(np.asarray(music_downbeats_s, float))
    mb = np.asarray(music_boundaries_s if music_boundaries_s is not None else [], float).ravel()
    mb = mb[(mb > 0) & (mb < edit.music_duration_s)]
    # every splice counts as a heard section change (the listener hears one there). Measured both ways on
    # synthetic editor cuts (docs/EVALUATION.md, fit section): leaving splices out made the true track's
    # rank worse (mean rank 20.4 vs 13.3 of 49), so they stay in.
    v_seg = np.unique(np.concatenate([edit.music_to_video(mb), edit.splice_times_s()]))
    s_bar = _S(v_db, curve, rate_hz, sigma_frames)
    s_seg = _S(v_seg, curve, rate_hz, sigma_frames)
    s_obs = _combined(s_bar, s_seg)

    rng = np.random.default_rng(seed)
    offsets = rng.uniform(0.0, D, size=int(n_random))
    # every random offset at once (rows): the same values as scoring each shifted copy on its own
    null_bar = cooccurrence_rows((v_db[None, :] + offsets[:, None]) % D, curve, rate_hz, sigma_frames) \
        if v_db.size else np.full(offsets.size, np.nan)
    null_seg = cooccurrence_rows((v_seg[None, :] + offsets[:, None]) % D, curve, rate_hz, sigma_frames) \
        if v_seg.size else np.full(offsets.size, np.nan)
    vals = np.stack([null_bar, null_seg])
    cnt = np.sum(~np.isnan(vals), axis=0)
    null = np.where(cnt > 0, np.nansum(vals, axis=0) / np.maximum(cnt, 1), np.nan)  # _combined per row
    null = null[~np.isnan(null)]
    if math.isnan(s_obs) or null.size == 0:
        z, pct, mu, sd = 0.0, 0.5, float("nan"), float("nan")
    else:
        mu, sd = float(null.mean()), float(null.std())
        z_value = 0.0 if sd < _STD_FLOOR else (s_obs - mu) / sd
        # the score is the excess co-occurrence over random offsets of the same edit (S units): the mean
        # removes the tempo/duration bias of raw S; dividing by the null's std (a z-score) was tried and
        # inflated tracks with few events (tiny std), ranking the true track at chance
        z = s_obs - mu
        pct = float((np.sum(null < s_obs) + 0.5 * np.sum(null == s_obs)) / null.size)

    if cuts.size and v_db.size:
        dist = np.min(np.abs(cuts[:, None] - v_db[None, :]), axis=1)
        n_hit = int(np.sum(dist <= hit_window_s))
    else:
        n_hit = 0
    details = {"S": s_obs, "null_mean": mu, "null_std": sd, "z": 0.0 if math.isnan(s_obs) or null.size == 0 else z_value,
               "percentile": pct, "S_splices": _S(edit.splice_times_s(), curve, rate_hz, sigma_frames), "n_random": int(n_random),
               "n_downbeats": int(v_db.size), "n_boundaries": int(v_seg.size), "n_cuts": int(cuts.size),
               "hit_window_s": hit_window_s, "rate_hz": rate_hz, "sigma_frames": sigma_frames}
    return SyncScore(float(z), s_bar, s_seg, n_hit, details)


def anchor_candidates(video_cuts_s: Sequence[float], downbeats_s: Sequence[float], k: int = 3,
                      sigma_s: float = SIGMA_FRAMES / RATE_HZ) -> list[float]:
    """The ``k`` picture cuts that, once a downbeat is put on them, put the most other cuts near the
    track's bar grid (median bar, Gaussian weight of ``sigma_s``): good head-pickup anchors."""
    cuts = np.unique(np.asarray(video_cuts_s, float))
    db = np.unique(np.asarray(downbeats_s, float))
    if cuts.size == 0 or db.size < 2:
        return []
    bar = float(np.median(np.diff(db)))
    rel = (cuts[None, :] - cuts[:, None]) / bar
    dist = np.abs(rel - np.round(rel)) * bar  # distance of each cut to the grid anchored on another
    fit = np.exp(-0.5 * (dist / sigma_s) ** 2).sum(axis=1)
    order = np.argsort(-fit, kind="stable")
    return [float(cuts[i]) for i in order[:k]]


def best_start_offset(video_duration_s: float, video_cuts_s: Sequence[float], cut_probs_25hz: np.ndarray | None,
                      music_duration_s: float, downbeats_s: Sequence[float], music_boundaries_s: Sequence[float],
                      *, n_random: int = 100, picture_climax_s: float | None = None, **edit_kwargs):
    """Default edit when there is no alignment path: the form-aware planner
    (:func:`supervisor_app.edit.form.plan_edit`: starts at the track's start or a section, ends on the
    track's ending or a section end, drops phrases / repeats whole sections as the picture needs, then
    prefers the plan whose bar lines and splices meet the picture cuts) and its calibrated
    :func:`sync_score`. ``edit_kwargs``: ``sync_points_s``, ``tolerance_s`` (others of the old
    start-offset search, e.g. ``max_candidates``, are accepted and ignored). Returns
    ``(start_offset_s, edit, SyncScore)``; the start offset is the first excerpt's music in point.

    Until issue 13 this searched every start downbeat (looping when the rest of the track was too short),
    which produced edits starting late in the track and looping one fragment; that engine is still
    :func:`supervisor_app.edit.edl.build_edit` with ``start_offset_s``.
    """
    from supervisor_app.edit.form import TrackForm, plan_edit

    form = TrackForm.build(music_duration_s, downbeats_s, music_boundaries_s)
    kw = {k: edit_kwargs[k] for k in ("sync_points_s", "tolerance_s") if k in edit_kwargs}
    edit = plan_edit(video_duration_s, video_cuts_s, form, picture_climax_s=picture_climax_s, **kw)
    sc = sync_score(edit, video_cuts_s, cut_probs_25hz, form.downbeats_s, music_boundaries_s, n_random=n_random)
    return float(edit.excerpts[0].music_in_s), edit, sc


def free_time_sync_score(edit, video_cuts_s: Sequence[float], cut_probs_25hz: np.ndarray | None,
                         music_onsets_s: Sequence[float], music_boundaries_s: Sequence[float], **kwargs) -> SyncScore:
    """The fit of music without a bar grid: :func:`sync_score` with the track's strong onsets (note
    attacks, :meth:`~supervisor_app.analysis.envelope.MusicEnvelope.strong_onsets_s`) in place of its
    downbeats, and its section changes and splices as the boundaries; calibrated the same way (excess S
    over random offsets of the same edit), so it ranks beside the bar-line fit. ``S_bar`` and
    ``n_cuts_on_downbeat`` then count onsets (``details['events']`` says so)."""
    sc = sync_score(edit, video_cuts_s, cut_probs_25hz, music_onsets_s, music_boundaries_s, **kwargs)
    sc.details["events"] = "strong onsets"
    return sc


def best_free_time_start(video_duration_s: float, video_cuts_s: Sequence[float], cut_probs_25hz: np.ndarray | None,
                         music_duration_s: float, envelope, music_boundaries_s: Sequence[float], *,
                         n_random: int = 100, max_candidates: int = 48, n_finalists: int = 5, **edit_kwargs):
    """:func:`best_start_offset` for free time: candidate starts are the track's start and its splice
    points (phrase ends, quiet moments, onsets) from which it covers the picture without looping (those in
    the first half of the track when none does; at most ``max_candidates``, evenly spread); ranked by raw S, the
    ``n_finalists`` best by :func:`free_time_sync_score`. Returns ``(start_offset_s, edit, SyncScore)``."""
    from supervisor_app.edit.free_time import build_free_time_edit, splice_points

    pts, _ = splice_points(envelope, music_boundaries_s, music_duration_s)
    starts = np.concatenate([[0.0], pts])
    fits = starts[starts + float(video_duration_s) <= float(music_duration_s)]
    # when no start covers the picture, the first half of the track (a start near its end would loop at once)
    usable = fits if fits.size else starts[starts <= 0.5 * float(music_duration_s)]
    if usable.size == 0:
        usable = np.array([0.0])
    if usable.size > max_candidates:
        usable = usable[np.linspace(0, usable.size - 1, max_candidates).round().astype(int)]
    onsets = envelope.strong_onsets_s()
    cands = []
    for off in usable:
        edit = build_free_time_edit(video_duration_s, video_cuts_s, music_duration_s, envelope, music_boundaries_s,
                                    start_offset_s=float(off), **edit_kwargs)
        s = free_time_sync_score(edit, video_cuts_s, cut_probs_25hz, onsets, music_boundaries_s, n_random=0).details["S"]
        cands.append((-(s if s == s else -1.0), len(cands), float(edit.excerpts[0].music_in_s), edit))
    cands.sort(key=lambda c: (c[0], c[1]))
    best = None
    for _, _, off, edit in cands[:max(1, n_finalists)]:
        sc = free_time_sync_score(edit, video_cuts_s, cut_probs_25hz, onsets, music_boundaries_s, n_random=n_random)
        if best is None or sc.score > best[2].score + 1e-12:
            best = (off, edit, sc)
    return best
