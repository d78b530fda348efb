"""The fit of a track to a picture, computed once: :func:`best_start_offset` memoised on disk.

``recommend`` without a model fits every candidate to the picture (:func:`supervisor_app.ranking.sync.
best_start_offset`: hundreds of candidate edits and sync scores per track); measured on the pool
catalog, that loop is nearly all of a warm run (issue 21). Its result depends only on its inputs (the
picture's cuts and cut curve, the track's duration, downbeats and section boundaries, the options) and on
the code, so :func:`best_start_offset` here returns the stored result when exactly those were fitted
before, and fits (and stores) otherwise:

    key = sha256(json([inputs, with every array as dtype + shape + sha256 of its bytes], code hash))

The code hash covers the sources of ``supervisor_app.ranking``, ``supervisor_app.edit`` and
``analysis/language_of_clips.py``: any change to the fit, the edit builder or the score drops every
stored fit. Entries are small JSON files under ``<cache>/fits/<key[:2]>/<key>.json``, written with a
temp file + rename and without fsync (a recomputable cache: an entry lost or truncated by a crash is an
unreadable entry, i.e. a miss, never a wrong fit). A read that fails, or an entry that does not
rebuild, is a miss; a write that fails is ignored.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from supervisor_app.infra import paths
from supervisor_app.infra.errors import OutputError
from supervisor_app.infra.fileio import atomic_write_text, json_default
from supervisor_app.infra.hashing import bytes_hash

__all__ = ["best_start_offset", "fit_to_picture", "fit_key", "fits_dir"]

_PKG = Path(__file__).resolve().parent.parent  # the supervisor_app package
_CODE = ("ranking", "edit", "analysis/language_of_clips.py")


def fits_dir() -> Path:
    return paths.cache_dir() / "fits"


@lru_cache(maxsize=1)
def _code_hash() -> str:
    files = []
    for part in _CODE:
        p = _PKG / part
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return bytes_hash(b"\1".join(f.relative_to(_PKG).as_posix().encode() + b"\0" + f.read_bytes()
                                  for f in files if f.is_file()))


def _norm(x):
    """A JSON-able, exact stand-in for an argument (arrays by content hash)."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return repr(x)  # exact, and NaN-safe
    if isinstance(x, np.generic):
        return _norm(x.item())
    if isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        return {"array": str(a.dtype), "shape": list(a.shape), "sha256": bytes_hash(a.tobytes())}
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x, dtype=np.float64)
            if arr.dtype == np.float64 and arr.ndim >= 1:
                return {"seq": type(x).__name__, "f8": _norm(arr)}
        except (TypeError, ValueError):
            pass
        return [_norm(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _norm(v) for k, v in sorted(x.items())}
    raise TypeError(f"cannot key a fit on {type(x).__name__}")


def fit_key(*args, fn: str = "best_start_offset", **kwargs) -> str:
    """The cache key of ``fn(*args, **kwargs)`` under the current code."""
    doc = {"fn": fn, "code": _code_hash(), "args": _norm(list(args)), "kwargs": _norm(kwargs)}
    return bytes_hash(json.dumps(doc, sort_keys=True).encode("utf-8"))


def _nan(v):
    return float("nan") if v is None else v


def _load(path: Path):
    from supervisor_app.edit.edl import Edit
    from supervisor_app.ranking.sync import SyncScore

    d = json.loads(path.read_text(encoding="utf-8"))
    s = d["sync"]
    sc = SyncScore(score=float(_nan(s["score"])), S_bar=float(_nan(s["S_bar"])), S_seg=float(_nan(s["S_seg"])),
                   n_cuts_on_downbeat=int(s["n_cuts_on_downbeat"]), details=dict(s.get("details") or {}))
    return float(d["start_offset_s"]), Edit.from_dict(d["edit"]), sc


def _store(path: Path, off: float, edit, sc) -> None:
    _write(path, {"start_offset_s": off, "edit": edit.to_dict(), "sync": sc.to_dict()})


def _write(path: Path, doc: dict) -> None:
    atomic_write_text(path, json.dumps(doc, default=json_default), durable=False)  # a cache: no fsync


def best_start_offset(*args, **kwargs):
    """:func:`supervisor_app.ranking.sync.best_start_offset`, same arguments and result, computed once
    per (inputs, code) and then read back from the app's cache folder."""
    from supervisor_app.ranking import sync

    try:
        key = fit_key(*args, **kwargs)
    except TypeError:
        return sync.best_start_offset(*args, **kwargs)
    path = fits_dir() / key[:2] / f"{key}.json"
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        pass  # unreadable or from an incompatible build: fit again
    off, edit, sc = sync.best_start_offset(*args, **kwargs)
    if not (isinstance(off, float) and math.isnan(off)):
        try:
            _store(path, float(off), edit, sc)
        except (OSError, OutputError, TypeError, ValueError):
            pass  # the cache is a bonus
    return off, edit, sc


def _form_identity(form) -> dict:
    """What a :class:`supervisor_app.edit.form.TrackForm` is made of (its audio by content hash)."""
    audio = form.audio
    from supervisor_app.edit.audibility import TrackFeatures

    from supervisor_app.edit.bar_splices import BarSplices

    if isinstance(audio, TrackFeatures):  # stored features: their arrays' content
        audio = {k: np.asarray(v) for k, v in audio.to_arrays().items()}
    elif isinstance(audio, BarSplices):  # stored at index time (recommend): the table's content
        audio = {"bar_splices": audio.to_array()}
    return {"duration_s": float(form.duration_s), "downbeats_s": np.asarray(form.downbeats_s, np.float64),
            "section_idx": np.asarray(form.section_idx), "section_energy": form.section_energy,
            "audio": audio, "sr": form.sr}


def fit_to_picture(video_duration_s, video_cuts_s, cut_probs_25hz, form, **kwargs):
    """:func:`supervisor_app.ranking.form_score.fit_to_picture`, same arguments and result, computed
    once per (picture cuts and curve, track form incl. its audio when given, options, code) and then
    read back from the app's cache folder (the fit loop is nearly all of a warm ``recommend``)."""
    from supervisor_app.edit.edl import Edit
    from supervisor_app.ranking import form_score as fs
    from supervisor_app.ranking.sync import SyncScore

    try:
        key = fit_key(video_duration_s, video_cuts_s, cut_probs_25hz, _form_identity(form), fn="fit_to_picture",
                      **kwargs)
    except TypeError:
        return fs.fit_to_picture(video_duration_s, video_cuts_s, cut_probs_25hz, form, **kwargs)
    path = fits_dir() / key[:2] / f"{key}.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        s = d["sync"]
        sc = SyncScore(score=float(_nan(s["score"])), S_bar=float(_nan(s["S_bar"])), S_seg=float(_nan(s["S_seg"])),
                       n_cuts_on_downbeat=int(s["n_cuts_on_downbeat"]), details=dict(s.get("details") or {}))
        return fs.Fit(edit=Edit.from_dict(d["edit"]), sync=sc, form=fs.FormScore(**d["form"]), fit=float(d["fit"]),
                      start_offset_s=float(d["start_offset_s"]), reasons=list(d.get("reasons") or []))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, unreadable or from an incompatible build: fit again
    fit = fs.fit_to_picture(video_duration_s, video_cuts_s, cut_probs_25hz, form, **kwargs)
    try:
        _write(path, {"edit": fit.edit.to_dict(), "sync": fit.sync.to_dict(), "form": fit.form.to_dict(),
                      "fit": float(fit.fit), "start_offset_s": float(fit.start_offset_s), "reasons": list(fit.reasons)})
    except (OSError, OutputError, TypeError, ValueError):
        pass  # the cache is a bonus
    return fit
