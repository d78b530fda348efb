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
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from supervisor_app.edit.form import ENDING_COST, TrackForm, describe_edit, fmt_time, plan_edit

__all__ = ["FormScore", "form_score", "Fit", "fit_to_picture", "PENALTY"]

PENALTY = {
    "repeat": 0.30,  # per replayed excerpt
    "repeated_share": 1.00,  # times the share of the picture under music heard before
    "short_repeat": 0.50,  # a replayed fragment shorter than 8 bars
    "run": 0.50,  # the same fragment more than twice in a row
    "clearly_audible": 0.30,  # per splice above the 90th percentile of the track's own bar lines
    "late_start": 0.10,  # the music starts after the track's start
    "climax": 0.30,  # times min(1, |energy peak - picture climax| / 8 s)
    "splice": 0.02,  # per splice (fewer is better when all else is equal)
}
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
