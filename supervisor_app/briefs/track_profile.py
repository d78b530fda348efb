"""What a brief search knows about each track: calibrated AudioSet class scores and two mood axes.

* Class scores: YAMNet's 521 AudioSet probabilities, averaged over the track's 1 Hz frames (recomputed
  from the stored embeddings with :mod:`supervisor_app.features.yamnet_head`; tracks indexed without
  frames use the mean embedding; tracks with neither fall back to their stored top-12 auto-tags).
  Raw probabilities are not comparable across classes ("Music" is near 1 on every track, "Sad music"
  rarely exceeds 0.05), so they are *calibrated* against a reference pool
  (``resources/brief/calibration.json``, computed once by ``benchmarks/brief_calibrate.py`` on the
  51-track real-music pool; no labels are involved): each class by its quantile among the pool's
  tracks, and each brief concept as a whole by the quantile of its weighted class evidence
  (:func:`concept_quantile`). A calibrated 0.9 reads "more of this than 90 % of the pool's tracks".
* arousal (calm 0 … 1 energetic): mean of the pool quantiles of loudness, onset density, tempo,
  brightness and AudioSet's "Exciting music", minus "Tender music" / "Ambient music" evidence.
* valence (dark/sad 0 … 1 happy/bright): mode (major/minor, weighted by the key's certainty),
  "Happy music" against "Sad music", "Scary music" and "Angry music".
  The axis weights are hand-set (documented here, not learned); see ``benchmarks/brief_search.py``
  for what they buy on the pool.
* build (0 … 1): quantile of the track's loudness rise from its first to its last third.

Profiles are cached per track in the catalog's embeddings table (``yamnet-classes``), so searching a
large catalog reads one array per track.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from supervisor_app.infra.paths import RESOURCES_DIR

CALIBRATION_PATH = RESOURCES_DIR / "brief" / "calibration.json"
CLASSES_CACHE = "yamnet-classes"  # embeddings table: (521,) float32 mean class probabilities
#: a weighted mean class probability from which a concept counts as audible (YAMNet's absent classes sit
#: near 0.001 on music; 0.01 is ten times that)
PRESENCE_PROB = 0.01
DESCRIPTOR_AXES = ("loudness_db", "onset_rate_hz", "tempo_bpm", "brightness_hz", "build_db")


@dataclass
class TrackProfile:
    track_id: int
    classes: dict = field(default_factory=dict)  # AudioSet class name -> calibrated score 0..1
    raw: dict = field(default_factory=dict)  # AudioSet class name -> mean probability (for explanations)
    arousal: Optional[float] = None
    valence: Optional[float] = None
    build: Optional[float] = None
    tempo_bpm: Optional[float] = None
    source: str = "none"  # frames | mean | autotags | none


@lru_cache(maxsize=4)
def load_calibration(path: str = str(CALIBRATION_PATH)) -> Optional[dict]:
    """{"classes": {name: quantile values}, "descriptors": {name: quantile values}, "levels": [...]} or None."""
    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError):
        return None
    return data


def _quantile(value: float, qs: Optional[list], levels: list) -> float:
    """The pool quantile of ``value`` (0..1) from the pool's quantile values ``qs`` at ``levels``;
    without a calibration, the raw value clipped to 0..1. Ties in the pool take their middle level."""
    if qs is None:
        return float(np.clip(value, 0.0, 1.0))
    xs = np.asarray(qs, dtype=np.float64)
    lv = np.asarray(levels, dtype=np.float64)
    left = np.searchsorted(xs, value, side="left")
    right = np.searchsorted(xs, value, side="right")
    if right > left:  # value equals one or more quantile values: the middle of their levels
        return float((lv[left] + lv[right - 1]) / 2.0)
    return float(np.interp(value, xs, lv, left=0.0, right=1.0))


_POOL_CACHE: dict = {}


@lru_cache(maxsize=64)
def _class_index(names: tuple, wanted: frozenset) -> tuple:
    return tuple(i for i, n in enumerate(names) if n in wanted)


def concept_evidence(classes: dict, raw: dict) -> float:
    """A concept's raw evidence on a track: the weighted sum of its classes' mean probabilities."""
    return float(sum(w * raw.get(name, 0.0) for name, w in classes.items()))


def concept_quantile(concept_name: str, classes: dict, raw: dict, cal: dict) -> Optional[float]:
    """The pool quantile (0..1) of a concept's evidence on a track: the fraction of the calibration pool's
    tracks with less of it. Calibrating the concept as a whole (not each class) keeps a concept with many
    classes from scoring high on every track. None without a calibration pool."""
    pool = cal.get("pool")
    if not pool:
        return None
    key = (id(cal), concept_name)
    values = _POOL_CACHE.get(key)
    if values is None:
        cols = pool["classes"]
        m = np.asarray(pool["matrix"], dtype=np.float64)
        w = np.asarray([classes.get(c, 0.0) for c in cols])
        values = _POOL_CACHE[key] = np.sort(m @ w)
    e = concept_evidence(classes, raw)
    lo = np.searchsorted(values, e, side="left")
    hi = np.searchsorted(values, e, side="right")
    quantile = float((lo + hi) / 2.0 / len(values))
    # a quantile says "more than the pool", not "present": in a pool of instrumentals the track with the
    # most singing still has none. Evidence under PRESENCE_PROB (weighted mean probability) scales down.
    mean_p = e / max(1e-9, float(sum(classes.values())))
    return quantile * min(1.0, mean_p / PRESENCE_PROB)


def class_profile(catalog, track) -> tuple[Optional[np.ndarray], str]:
    """(521 mean AudioSet probabilities, source) of a track, computed once from its stored YAMNet
    embeddings and cached; (None, 'none') when it has none."""
    from supervisor_app.indexing.keys import YAMNET_FRAMES, YAMNET_MEAN, yamnet_version

    yv = yamnet_version()
    cached = catalog.get_embedding(track.id, CLASSES_CACHE, yv)
    if cached is not None:
        return cached.astype(np.float32), "frames"
    from supervisor_app.features.yamnet_head import class_probabilities

    frames = catalog.get_embedding(track.id, YAMNET_FRAMES, yv)
    if frames is not None and len(frames):
        probs = class_probabilities(frames.astype(np.float32)).mean(axis=0)
        source = "frames"
    else:
        mean = catalog.get_embedding(track.id, YAMNET_MEAN, yv)
        if mean is None:
            return None, "none"
        probs, source = class_probabilities(mean.astype(np.float32)), "mean"
    try:
        catalog.put_embedding(track.id, CLASSES_CACHE, yv, probs.astype(np.float32))
    except Exception:  # a read-only catalog still searches; it just recomputes next time
        pass
    return probs.astype(np.float32), source


AXIS_CLASSES = ("Exciting music", "Tender music", "Ambient music", "Happy music", "Sad music", "Scary music",
                "Angry music")


@dataclass
class Prefetched:
    """What profiles need of every track, read in a handful of queries (a search over many tracks)."""

    probs: dict  # track id -> (521,) class probabilities (the cache)
    descriptors: dict  # track id -> descriptors result
    beat_tempo: dict  # track id -> madmom tempo (BPM)
    autotags: dict  # track id -> [[name, score], ...]


def prefetch(catalog) -> Prefetched:
    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION
    from supervisor_app.indexing.keys import AUTOTAGS, beats_key, yamnet_version

    yv = yamnet_version()
    ids, arrays = catalog.load_embeddings(CLASSES_CACHE, yv)
    return Prefetched(probs=dict(zip(ids, arrays)),
                      descriptors=catalog.load_analyses(DESCRIPTORS, DESCRIPTORS_VERSION),
                      beat_tempo=catalog.load_analyses(*beats_key(), json_path="$.tempo_bpm"),
                      autotags=catalog.load_analyses(AUTOTAGS, yv, json_path="$.tags"))


def track_profile(catalog, track, calibration: Optional[dict] = None, classes=None,
                  pre: Optional[Prefetched] = None) -> TrackProfile:
    """The track's profile; ``classes``: the AudioSet classes whose scores are wanted (default: all; the
    mood axes' classes are always computed); ``pre``: data read in bulk by :func:`prefetch`."""
    from supervisor_app.catalog.tracks_view import analysed_tempo, descriptors
    from supervisor_app.features.yamnet import class_names

    cal = calibration if calibration is not None else (load_calibration() or {})
    levels = cal.get("levels") or list(np.linspace(0, 1, 21))
    cq, dq = cal.get("classes", {}), cal.get("descriptors", {})
    wanted = None if classes is None else set(classes) | set(AXIS_CLASSES)
    prof = TrackProfile(track.id)
    probs = None if pre is None else pre.probs.get(track.id)
    if probs is not None:
        prof.source = "frames"
    else:
        probs, prof.source = class_profile(catalog, track)
    if probs is not None:
        names = class_names()
        idx = range(len(names)) if wanted is None else [i for i in _class_index(names, frozenset(wanted))]
        prof.raw = {names[i]: float(probs[i]) for i in idx}
    else:
        if pre is not None:
            tags = pre.autotags.get(track.id)
            tags = json.loads(tags) if isinstance(tags, str) else tags
        else:
            from supervisor_app.indexing.keys import AUTOTAGS, yamnet_version

            rec = catalog.get_analysis(track.id, AUTOTAGS, yamnet_version())
            tags = rec.result.get("tags") if rec is not None and rec.result else None
        if tags:
            prof.raw = {str(n): float(s) for n, s in tags}
            prof.source = "autotags"
    prof.classes = {n: _quantile(p, cq.get(n), levels) for n, p in prof.raw.items() if wanted is None or n in wanted}
    if pre is not None:
        d = pre.descriptors.get(track.id) or {}
        tempo = track.bpm_tag or pre.beat_tempo.get(track.id) or d.get("tempo_bpm")
    else:
        d = descriptors(catalog, track) or {}
        tempo = track.bpm_tag or analysed_tempo(catalog, track) or d.get("tempo_bpm")
    prof.tempo_bpm = None if tempo is None else float(tempo)
    q = {k: _quantile(float(v), dq[k], levels) for k, v in  # descriptors only mean something against the pool
         {**d, "tempo_bpm": tempo}.items() if k in DESCRIPTOR_AXES and v is not None and dq.get(k)}
    c = prof.classes
    parts = [q[k] for k in ("loudness_db", "onset_rate_hz", "tempo_bpm", "brightness_hz") if k in q]
    if "Exciting music" in c:
        parts.append(c["Exciting music"])
        parts.append(1.0 - max(c.get("Tender music", 0.0), c.get("Ambient music", 0.0)))
    prof.arousal = float(np.mean(parts)) if parts else None
    vparts = []
    if d.get("mode"):
        certainty = float(np.clip((d.get("key_margin") or 0.0) / 0.1, 0.0, 1.0))
        vparts.append(0.5 + (0.5 if d["mode"] == "major" else -0.5) * certainty)
    if "Happy music" in c:
        vparts.append(c["Happy music"])
        vparts.append(1.0 - max(c.get("Sad music", 0.0), c.get("Scary music", 0.0), c.get("Angry music", 0.0)))
    prof.valence = float(np.mean(vparts)) if vparts else None
    prof.build = q.get("build_db")
    return prof


#: a concept is an auto-tag of a track when it is audible and above this pool quantile
AUTO_TAG_QUANTILE = 0.8


def auto_tags(catalog, track, calibration: Optional[dict] = None, threshold: float = AUTO_TAG_QUANTILE) -> list:
    """The brief vocabulary's moods, styles, instruments and vocals that describe a track, as
    ``[(word, score 0..1)]`` best first: a concept whose pool-calibrated, audibility-gated evidence is above
    ``threshold``, plus 'calm'/'energetic' and 'happy'/'dark' from the mood axes when they are clear
    (outside the pool's middle 60 %). Empty when the track has no audio profile or there is no calibration."""
    from supervisor_app.briefs.vocab import CONCEPTS

    cal = calibration if calibration is not None else (load_calibration() or {})
    if not cal.get("pool"):
        return []
    prof = track_profile(catalog, track, cal, classes=None)
    if not prof.raw:
        return []
    out = {}
    for name, c in CONCEPTS.items():
        if c.classes and c.kind != "tempo":
            q = concept_quantile(name, c.classes, prof.raw, cal)
            if q is not None and q >= threshold:
                out[name] = q
    if prof.arousal is not None and abs(prof.arousal - 0.5) > 0.3:
        out["energetic" if prof.arousal > 0.5 else "calm"] = max(out.get("energetic" if prof.arousal > 0.5 else "calm", 0),
                                                                 abs(prof.arousal - 0.5) * 2)
    if prof.valence is not None and abs(prof.valence - 0.5) > 0.3:
        out["happy" if prof.valence > 0.5 else "dark"] = max(out.get("happy" if prof.valence > 0.5 else "dark", 0),
                                                             abs(prof.valence - 0.5) * 2)
    return sorted(((k, round(v, 2)) for k, v in out.items()), key=lambda kv: -kv[1])
