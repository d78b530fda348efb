"""Analyzer names and version strings: the cache keys of analysis results.

A cached result is stored under (content hash, analyzer name, version). The version string holds
this project's revision of the analyzer (bump ``*_REVISION`` whenever the code or a default parameter
changes what it returns), the version of the third-party package doing the work, and every
parameter that changes the output. A new version never reads an old result.
Package versions are read from the installed metadata, so nothing heavy is imported here.
"""
from __future__ import annotations

import functools
import importlib.metadata
from typing import Sequence

BEATS = "beats-madmom"
SEGMENTS = "segments-msaf"
SHOTS = "shots-transnetv2"

BEATS_REVISION = 2  # 2: networks evaluated by analysis.madmom_fast (activations differ from madmom by float32 rounding)
# Not bumped for the float32 recurrence and STFT of issue 21 (activations within ~7e-5 of revision 2's): on 30
# pool tracks, 27 give the same beats to the bit and 3 move a beat by one 10-ms frame (F 1.000, same tempo and
# meter). A bump would make every catalog re-analyse its beats and segmentations (hours for a large one) for
# differences under the tracker's own frame; a change that moves results by more than a frame bumps it.
SEGMENTS_REVISION = 1
SHOTS_REVISION = 1


@functools.lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """Installed version of distribution ``name``, or ``"missing"``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _fmt(x: float) -> str:
    return f"{float(x):g}"


def beats_version(beats_per_bar: Sequence[int] = (3, 4), min_bpm: float | None = None,
                  max_bpm: float | None = None) -> str:
    """Version string of :func:`supervisor_app.analysis.beats.track_beats` with these parameters."""
    from supervisor_app.analysis import beats

    lo = beats.DEFAULT_MIN_BPM if min_bpm is None else min_bpm
    hi = beats.DEFAULT_MAX_BPM if max_bpm is None else max_bpm
    meters = "-".join(str(int(b)) for b in beats_per_bar)
    return f"r{BEATS_REVISION}_madmom-{package_version('madmom')}_bpb{meters}_bpm{_fmt(lo)}-{_fmt(hi)}"


def segments_version(algorithm: str, beats_version_used: str | None = None,
                     labels_algorithm: str | None = None, feature: str = "pcp") -> str:
    """Version string of one MSAF algorithm's result; ``beats_version_used`` when madmom beats fed it
    (``None``: MSAF's own librosa beats)."""
    beats_part = beats_version_used or f"librosa-{package_version('librosa')}"
    labels_part = labels_algorithm or "nolabels"
    return (f"r{SEGMENTS_REVISION}_msaf-{package_version('msaf')}_{algorithm}_{feature}_{labels_part}"
            f"_beats-{beats_part}")


def shots_version(threshold: float = 0.5) -> str:
    """Version string of the TransNetV2 shot analysis (cut curve + shots at ``threshold``): the shot
    module's own ``ANALYZER_VERSION`` (network, weights, post-processing) plus the threshold."""
    from supervisor_app.analysis.shots import ANALYZER_VERSION

    return f"r{SHOTS_REVISION}_{ANALYZER_VERSION}_thr{_fmt(threshold)}"
