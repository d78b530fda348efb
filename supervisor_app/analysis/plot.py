"""One PNG of a structure analysis (:func:`supervisor_app.analysis.report.analyze_file`'s result): the cut
curve, cuts, downbeats and music segments on one time axis, and the shot-duration histogram with Δbeat /
Δbar marked (``supervisor-app analyze FILE --plot OUT.png``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_analysis"]

_SEG_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860")


def plot_analysis(analysis: dict, out_png: str | Path, *, width_px: int = 1600) -> Path:
    """Draw :func:`~supervisor_app.analysis.report.analyze_file`'s result to ``out_png`` (matplotlib, Agg; pyplot is not used).

    Top: cut curve f_shot with the threshold, cuts (red), downbeats (grey) and one row of segments per
    MSAF algorithm, on one time axis. Bottom (video): the shot-duration histogram with Δbeat, Δbar,
    4·Δbar and Δmax_shot marked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    out_png = Path(out_png)
    duration = float(analysis.get("duration_s") or 0.0)
    curve = analysis.get("cut_curve")
    segments = analysis.get("segments") or {}
    downbeats = analysis.get("downbeats_s") or []
    beats = analysis.get("beats_s") or []
    cuts = analysis.get("cuts_s") or []
    loc = analysis.get("language_of_clips")
    has_hist = bool(analysis.get("shots"))

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, (7.5 if has_hist else 4.8)), dpi=dpi)
    FigureCanvasAgg(fig)
    n_rows = len(segments)
    if has_hist:
        gs = fig.add_gridspec(3, 1, height_ratios=[2.2, 0.35 * max(n_rows, 1) + 0.3, 2.0], hspace=0.35)
    else:
        gs = fig.add_gridspec(2, 1, height_ratios=[2.2, 0.35 * max(n_rows, 1) + 0.3], hspace=0.12)
    ax = fig.add_subplot(gs[0])
    ax_seg = fig.add_subplot(gs[1], sharex=ax)

    # top: f_shot, cuts, beats, downbeats
    if curve and curve.get("values"):
        v = np.asarray(curve["values"], dtype=float)
        t = np.arange(len(v)) / float(curve["rate_hz"])
        ax.fill_between(t, v, color="#1f77b4", alpha=0.25, linewidth=0)
        ax.plot(t, v, color="#1f77b4", linewidth=1.0, label="cut probability $f_{shot}$ (25 Hz)")
        thr = analysis.get("shot_threshold", 0.5)
        ax.axhline(thr, color="#1f77b4", linestyle=":", linewidth=0.8)
    has_curve = bool(curve and curve.get("values"))
    beat_h, down_h = (0.06, 0.25) if has_curve else (0.3, 0.75)  # audio only: the beats are the content
    for i, c in enumerate(cuts):
        ax.axvline(c, color="#d62728", linewidth=1.4, alpha=0.9, label="cut" if i == 0 else None)
    for i, b in enumerate(beats):
        ax.plot([b, b], [0.0, beat_h], color="#7f7f7f", linewidth=0.6, label="beat" if i == 0 else None)
    for i, d in enumerate(downbeats):
        ax.axvline(d, ymin=0.0, ymax=down_h, color="#333333", linewidth=1.2,
                   label="downbeat" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    if has_curve:
        ax.set_ylabel("$f_{shot}$")
    else:
        ax.set_yticks([])
        ax.set_ylabel("beats")
    ax.set_xlim(0, duration if duration > 0 else None)
    ax.tick_params(labelbottom=False)
    title = Path(analysis.get("path", "")).name
    bits = []
    if analysis.get("tempo_bpm"):
        bits.append(f"{analysis['tempo_bpm']:.1f} BPM, {analysis.get('meter')}/4" if analysis.get("meter") == 4
                    else f"{analysis['tempo_bpm']:.1f} BPM, {analysis.get('meter')} beats/bar")
    if cuts or analysis.get("shots"):
        n_shots, n_cuts = len(analysis.get("shots") or []), len(cuts)
        bits.append(f"{n_shots} shot{'s' * (n_shots != 1)}, {n_cuts} cut{'s' * (n_cuts != 1)}")
    if loc:
        for key in ("S_seg", "S_bar"):
            if loc.get(key) is not None:
                bits.append(f"{key} = {loc[key]:.2f}")
    ax.set_title(title + ("  —  " + ", ".join(bits) if bits else ""), fontsize=11)

    # middle: one row of segments per algorithm
    names = list(segments)
    for row, name in enumerate(names):
        b = list(segments[name])
        y = n_rows - 1 - row
        for k in range(len(b) - 1):
            ax_seg.add_patch(Rectangle((b[k], y + 0.12), b[k + 1] - b[k], 0.76,
                                       facecolor=_SEG_COLORS[row % len(_SEG_COLORS)],
                                       alpha=0.35 if k % 2 else 0.65, edgecolor="white", linewidth=1.0))
        for j, x in enumerate(b[1:-1]):
            ax.axvline(x, color=_SEG_COLORS[row % len(_SEG_COLORS)], linestyle="--", linewidth=0.9,
                       alpha=0.8, ymin=down_h, ymax=1.0, label=f"{name} boundary" if j == 0 else None)
    for d in downbeats:
        ax_seg.axvline(d, color="#333333", linewidth=0.5, alpha=0.35)
    ax.legend(loc="upper right", fontsize=8, ncol=4, framealpha=0.9)
    ax_seg.set_ylim(0, max(n_rows, 1))
    ax_seg.set_yticks([n_rows - 1 - r + 0.5 for r in range(n_rows)])
    ax_seg.set_yticklabels([f"{n} segments" for n in names], fontsize=8)
    ax_seg.set_xlabel("time (s)")
    if not names:
        if analysis.get("has_audio") is False:
            why = "no audio track: no beats or music segments"
        else:
            reasons = "; ".join(analysis.get("errors", {}).values())
            why = "no music segments" + (f" ({reasons[:150]})" if reasons else "")
        ax_seg.text(0.5, 0.5, why, ha="center", va="center", transform=ax_seg.transAxes, fontsize=8)
        ax_seg.set_yticks([])

    # bottom: shot-duration histogram
    if has_hist:
        axh = fig.add_subplot(gs[2])
        if loc:
            h = loc["shot_duration_histogram"]
            edges = np.asarray(h["bin_edges_s"])
            counts = np.asarray(h["counts"])
        else:
            from supervisor_app.analysis.language_of_clips import shot_duration_histogram

            h = shot_duration_histogram(analysis["shots"])
            edges, counts = np.asarray(h["bin_edges_s"]), np.asarray(h["counts"])
        axh.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#8c8c8c",
                edgecolor="white", label="shots")
        xmax = float(edges[-1])
        marks = []
        if loc:
            marks = [(loc["delta_beat_s"], "Δbeat", "#2ca02c"), (loc["delta_bar_s"], "Δbar", "#9467bd"),
                     (4 * loc["delta_bar_s"], "4·Δbar (pattern)", "#8c564b")]
            if loc.get("delta_max_shot_s") is not None:
                marks.append((loc["delta_max_shot_s"], "Δmax_shot", "#d62728"))
        for xv, label, color in marks:
            axh.axvline(xv, color=color, linewidth=1.6, linestyle="--" if label != "Δmax_shot" else "-",
                        label=f"{label} = {xv:.2f} s")
            xmax = max(xmax, xv)
        axh.set_xlim(0, xmax * 1.05 + 0.25)
        axh.set_xlabel("shot duration (s)")
        axh.set_ylabel("shots")
        axh.yaxis.get_major_locator().set_params(integer=True)
        axh.legend(loc="best", fontsize=8)
        if loc:
            ag = loc["agreement"]
            txt = "duration agreement: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in ag.items())
            off = loc.get("cut_downbeat_offsets") or {}
            if off.get("median_offset_s") is not None:
                txt += (f"\ncuts vs nearest downbeat: {off['n_before']} before, {off['n_on']} on, "
                        f"{off['n_after']} after (median {1000 * off['median_offset_s']:+.0f} ms)")
            axh.set_title(txt, loc="left", fontsize=9)

    fig.subplots_adjust(left=0.07, right=0.98, top=0.94, bottom=0.08 if has_hist else 0.11)
    from supervisor_app.infra.fileio import atomic_output

    fmt = out_png.suffix.lower().lstrip(".") or "png"
    with atomic_output(out_png, "The plot") as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt)
    return out_png
