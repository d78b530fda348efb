"""Whole-edit form score: does the track fit the picture as music, not only on its cuts?

:func:`form_score` judges an edit of a track (from any editor) by what a music editor would hear:
how much of the picture the track covers without repetition, how many repeats it needs and how long
they are, how many splices are clearly audible (with the track's audio, against its own bar lines), how
the ending lands, whether the music starts late in the track, and whether its energy peak lands near the
picture's climax. It is a penalty (``score = -penalty``, 0 = a perfect fit; units of :data:`PENALTY`).

:func:`fit_to_picture` cuts a track to a picture with the form planner
(:func:`supervisor_app.edit.form.plan_edit`) and returns the edit, its calibrated cut/downbeat sync
score (:func:`supervisor_app.ranking.sync.sync_score`) and its form score; ``fit = sync.score +
form.score`` is what the fit ranking sorts by. The penalties are an order of magnitude larger than the
spread of the sync score (an excess co-occurrence, typically -0.1 to 0.3), so a track that needs
repeats or ends mid-phrase ranks below every track that fits, and the sync score orders tracks that fit
alike. A 1:03 track under a 3:00 picture needs at least two repeats covering more than half the picture
(penalty >= 1.1): it can rank first only among tracks that all need repeats, i.e. when the user asks
for short tracks (a duration filter relative to the picture).

:func:`excerpt_form_score` judges ANY edit from its excerpts alone (music times, no bar grid): the
free-time engine's edits and buttons (:mod:`supervisor_app.edit.free_time`), which have no bar lines
to count. The same penalties in the same units: repeats and the share of the picture under music heard
before, a short repeat (a replayed fragment under ``FREE_SHORT_REPEAT_S`` that is not a whole section),
the same fragment more than twice in a row, the ending (the track's own, a section end, or a fade where
the music does not end), a late start, splices, and the share of the picture left without music (a
button). Not judged there: splice audibility (free-time splices are chosen by their own continuity
cost and crossfaded) and the climax. :func:`fit_free_time` adds it to the edit's sync score, so a
free-time track's ``fit = sync + form`` is on the metric tracks' scale: a 46 s rubato track looped
under a 3-minute picture ranks below the tracks that carry it without repeats.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from supervisor_app.edit.form import ENDING_COST, TrackForm, describe_edit, fmt_time, plan_edit

__all__ = ["FormScore", "form_score", "excerpt_form_score", "Fit", "fit_to_picture", "fit_free_time", "PENALTY"]

PENALTY = {
    "repeat": 0.30,  # per replayed excerpt
    "repeated_share": 1.00,  # times the share of the picture under music heard before
    "short_repeat": 0.50,  # a replayed fragment shorter than 8 bars
    "run": 0.50,  # the same fragment more than twice in a row
    "clearly_audible": 0.30,  # per splice above the 90th percentile of the track's own bar lines
    "late_start": 0.10,  # the music starts after the track's start
    "climax": 0.30,  # times min(1, |energy peak - picture climax| / 8 s)
    "splice": 0.02,  # per splice (fewer is better when all else is equal)
    "uncovered_share": 2.00,  # times the share of the picture without music (a button): silence is worse than a repeat
}
# excerpt_form_score (no bar grid): music heard again for more than FREE_OVERLAP_S is a repeat (about a bar at
# 120 BPM); a replayed fragment shorter than FREE_SHORT_REPEAT_S (8 bars of 4/4 at 120 BPM, MIN_REPEAT_BARS'
# length at a typical tempo) that is not a whole section is a short repeat
FREE_OVERLAP_S = 2.0
FREE_SHORT_REPEAT_S = 16.0
FREE_ENDING_SLACK_S = 3.0  # the music stops at most this before the track's end: its own ending (free_time's slack)
ENDING_PENALTY = {"track ending": ENDING_COST["track ending"], "section end": ENDING_COST["section end"],
                  "fade": ENDING_COST["phrase fade"], "mid-phrase": ENDING_COST["mid-phrase"]}


@dataclass
class FormScore:
    """``score`` = -penalty (0 best); ``parts``: the penalty's terms; ``stats``: the edit's numbers
    (:class:`supervisor_app.edit.form.EditStats`); ``reasons``: plain language."""

    score: float
    parts: dict
    stats: dict
    reasons: list[str] = field(default_factory=list)
    climax_offset_s: float | None = None  # energy peak's video time minus the picture's climax

    def to_dict(self) -> dict:
        d = asdict(self)
        return d


def _peak_video_times(edit, form: TrackForm) -> list[float]:
    pk = form.peak_section()
    if pk is None:
        return []
    m = float(form.T[form.section_idx[pk]])
    return [e.video_start_s + (m - e.music_in_s) for e in edit.excerpts if e.music_in_s - 1e-6 <= m < e.music_out_s]


def form_score(edit, form: TrackForm, picture_climax_s: float | None = None) -> FormScore:
    """Score ``edit`` of the track ``form`` describes (see the module docstring)."""
    st = describe_edit(edit, form)
    P = PENALTY
    D = edit.video_duration_s
    parts = {
        "repeats": P["repeat"] * st.n_repeats + P["repeated_share"] * st.repeated_s / D,
        "short_repeat": P["short_repeat"] if st.n_repeats and st.shortest_repeat_bars < 8 - 1e-6 else 0.0,
        "run": P["run"] if st.max_run > 2 else 0.0,
        "audible": P["clearly_audible"] * st.n_clearly_audible,
        "ending": ENDING_PENALTY[st.ending],
        "late_start": P["late_start"] if st.late_start_s > float(form.T[0]) + 1e-6 else 0.0,
        "splices": P["splice"] * st.n_splices,
    }
    offset = None
    if picture_climax_s is not None:
        vt = _peak_video_times(edit, form)
        if vt:
            offset = min((v - picture_climax_s for v in vt), key=abs)
            parts["climax"] = P["climax"] * min(1.0, abs(offset) / 8.0)
    penalty = float(sum(parts.values()))
    return FormScore(-penalty, parts, st.to_dict(), _reasons(edit, form, st, offset), offset)


def _reasons(edit, form: TrackForm, st, climax_offset_s) -> list[str]:
    out = []
    first = edit.excerpts[0]
    if st.late_start_s <= float(form.T[0]) + 1e-6:
        out.append("plays from the start")
    else:
        out.append(f"starts {fmt_time(st.late_start_s)} into the track")
    if st.n_repeats:
        out.append(f"needs {st.n_repeats} repeat(s) ({st.repeated_s:.0f} s of the picture under repeated music)")
    n_drop = sum(1 for a, b in zip(edit.excerpts, edit.excerpts[1:]) if b.music_in_s > a.music_out_s + 1e-6)
    if n_drop:
        out.append(f"shortened by {n_drop} cut(s) on bar lines")
    D = edit.video_duration_s
    last = edit.excerpts[-1]
    if st.ending == "track ending":
        out.append(f"ends on its final chord at {fmt_time(D)}")
    elif st.ending == "section end":
        out.append(f"ends on a section end at {fmt_time(D)}" + (f" ({edit.fade_out_s:.1f} s fade)"
                                                               if edit.fade_out_s > 0.3 else ""))
    elif st.ending == "fade":
        out.append(f"fades out on a phrase end at {fmt_time(D)}")
    else:
        out.append("ends mid-phrase")
    if st.n_clearly_audible:
        out.append(f"{st.n_clearly_audible} splice(s) clearly audible")
    if climax_offset_s is not None:
        out.append(f"its peak lands {abs(climax_offset_s):.1f} s {'after' if climax_offset_s > 0 else 'before'} "
                   "the picture's climax" if abs(climax_offset_s) > 0.5 else "its peak lands on the picture's climax")
    del first, last
    return out


def _free_ending(end_music_s: float, music_duration_s: float, boundaries_s: np.ndarray) -> str:
    """'track ending' (the music plays to within FREE_ENDING_SLACK_S of the track's end), 'section end' (it
    stops up to FADE_MAX_S before, or up to 1 s after, a section boundary) or 'fade' (it fades where the
    music does not end)."""
    from supervisor_app.edit.form import FADE_MAX_S

    e = float(end_music_s)
    if e >= float(music_duration_s) - FREE_ENDING_SLACK_S:
        return "track ending"
    b = boundaries_s[(boundaries_s > 1e-6) & (boundaries_s < float(music_duration_s) - 1e-6)]
    if b.size and bool(np.any((e >= b - FADE_MAX_S) & (e <= b + 1.0))):
        return "section end"
    return "fade"


def excerpt_form_score(edit, music_duration_s: float, boundaries_s: Sequence[float] = ()) -> FormScore:
    """The form score of any ``edit`` from its excerpts alone (see the module docstring): the track's
    ``music_duration_s`` and its section ``boundaries_s`` (s; 0 and the end may be included) are all it
    needs. ``stats`` has the keys of :class:`supervisor_app.edit.form.EditStats` that do not need a bar grid
    (``n_repeats``, ``repeated_s``, ``max_run``, ``ending``, ...) plus ``covered_share`` and
    ``shortest_repeat_s``."""
    from supervisor_app.edit.form import run_length

    ex = list(edit.excerpts)
    if not ex:
        raise ValueError("an edit without excerpts has no form")
    D = float(edit.video_duration_s)
    M = float(music_duration_s)
    bounds = np.unique(np.concatenate([[0.0, M], np.asarray(boundaries_s, float).ravel()]))
    P = PENALTY

    def on_bound(t: float) -> bool:
        return bool(np.min(np.abs(bounds - t)) <= 0.25)

    used: list[tuple[float, float]] = []
    n_rep, rep_s, rep_len, n_short = 0, 0.0, [], 0
    for k, e in enumerate(ex):
        ov = sum(max(0.0, min(e.music_out_s, u1) - max(e.music_in_s, u0)) for u0, u1 in used)
        if ov > FREE_OVERLAP_S:
            n_rep += 1
            length = float(e.music_out_s - e.music_in_s)
            rep_len.append(length)
            whole = on_bound(e.music_in_s) and (on_bound(e.music_out_s) or (
                k == len(ex) - 1 and e.music_out_s >= M - FREE_ENDING_SLACK_S))
            if length < FREE_SHORT_REPEAT_S - 1e-6 and not whole:
                n_short += 1
        rep_s += min(ov, e.video_end_s - e.video_start_s)
        used.append((e.music_in_s, e.music_out_s))
    covered = sum(max(0.0, min(e.video_end_s, D) - max(e.video_start_s, 0.0)) for e in ex)
    uncovered = max(0.0, 1.0 - covered / D)
    ending = _free_ending(ex[-1].music_out_s, M, bounds)
    late = float(ex[0].music_in_s)
    best = run_length([(e.music_in_s, e.music_out_s) for e in ex], FREE_OVERLAP_S)
    parts = {
        "repeats": P["repeat"] * n_rep + P["repeated_share"] * rep_s / D,
        "short_repeat": P["short_repeat"] if n_short else 0.0,
        "run": P["run"] if best > 2 else 0.0,
        "ending": ENDING_PENALTY[ending],
        "late_start": P["late_start"] if late > 0.5 else 0.0,
        "splices": P["splice"] * (len(ex) - 1),
        "uncovered": P["uncovered_share"] * uncovered,
    }
    stats = {"n_excerpts": len(ex), "n_splices": len(ex) - 1, "splices_per_min": 60.0 * (len(ex) - 1) / D,
             "n_repeats": n_rep, "repeated_s": float(rep_s), "shortest_repeat_s": float(min(rep_len)) if rep_len else None,
             "n_short_repeats": int(n_short), "max_run": int(best), "unrepeated_coverage": float(max(0.0, 1.0 - rep_s / D)),
             "covered_share": float(1.0 - uncovered), "late_start_s": late, "ending": ending,
             "end_music_s": float(ex[-1].music_out_s), "n_clearly_audible": 0}
    reasons = []
    if uncovered > 1e-6:
        reasons.append(f"plays in the last {covered:.0f} s only ({D - covered:.0f} s of the picture without music)")
    reasons.append("plays from the start" if late <= 0.5 else f"starts {fmt_time(late)} into the track")
    if n_rep:
        reasons.append(f"needs {n_rep} repeat(s) ({rep_s:.0f} s of the picture under repeated music)"
                       + (f", the same passage {best} times in a row" if best > 2 else ""))
    end_at = fmt_time(ex[-1].video_end_s)
    reasons.append({"track ending": f"ends on the track's ending at {end_at}",
                    "section end": f"ends on a section end at {end_at}",
                    "fade": f"fades out at {end_at} where the music does not end"}[ending])
    return FormScore(-float(sum(parts.values())), parts, stats, reasons, None)


@dataclass
class Fit:
    """A track cut to a picture: the edit, its sync score, its form score and ``fit`` (their sum)."""

    edit: object
    sync: object  # SyncScore
    form: FormScore
    fit: float
    start_offset_s: float
    reasons: list[str] = field(default_factory=list)


def fit_to_picture(video_duration_s: float, video_cuts_s: Sequence[float], cut_probs_25hz: np.ndarray | None,
                   form: TrackForm, *, sync_points_s: Sequence[float] = (), picture_climax_s: float | None = None,
                   tolerance_s: float = 0.25, n_random: int = 100, prefer_start_s: float | None = None) -> Fit:
    """Cut the track to the picture with the form planner and score the result (see the module docstring)."""
    from supervisor_app.ranking.sync import sync_score

    edit = plan_edit(video_duration_s, video_cuts_s, form, sync_points_s=sync_points_s,
                     picture_climax_s=picture_climax_s, tolerance_s=tolerance_s, prefer_start_s=prefer_start_s)
    bounds = form.T[form.section_idx[1:]]
    sc = sync_score(edit, video_cuts_s, cut_probs_25hz, form.downbeats_s, bounds, n_random=n_random)
    fs = form_score(edit, form, picture_climax_s)
    reasons = list(fs.reasons)
    reasons.append(f"{sc.n_cuts_on_downbeat} cut(s) on the downbeat")
    fit = float(sc.score) + fs.score
    if not math.isfinite(fit):
        fit = fs.score
    return Fit(edit, sc, fs, fit, float(edit.excerpts[0].music_in_s), reasons)


def fit_free_time(edit, sync, music_duration_s: float, boundaries_s: Sequence[float] = ()) -> Fit:
    """A free-time edit or a button with its sync score (``ranking.sync.free_time_sync_score``) as a
    :class:`Fit`: ``fit = sync.score + excerpt_form_score(...).score``, the metric tracks' scale."""
    fs = excerpt_form_score(edit, music_duration_s, boundaries_s)
    fit = float(sync.score) + fs.score
    if not math.isfinite(fit):
        fit = fs.score
    return Fit(edit, sync, fs, fit, float(edit.excerpts[0].music_in_s), list(fs.reasons))
