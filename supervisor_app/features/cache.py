"""Per-file feature cache: :func:`extract_cached` = extract once per (content hash, extractor, version).

Stored through :class:`supervisor_app.infra.cache.AnalysisCache` under the analyzer name
``features-<extractor name>`` and the extractor's version, as one .npz holding ``frames``,
``times_s`` and every ``extra`` array (prefixed ``extra__``).
"""
from __future__ import annotations

from pathlib import Path

from supervisor_app.infra.cache import AnalysisCache
from supervisor_app.infra.hashing import content_hash as _content_hash
from supervisor_app.features.registry import CancelFn, FeatureResult, ProgressFn, get_extractor

_EXTRA_PREFIX = "extra__"


def feature_cache() -> AnalysisCache:
    """The default cache (under :func:`supervisor_app.infra.paths.cache_dir`)."""
    return AnalysisCache()


def analyzer_name(extractor_name: str) -> str:
    return f"features-{extractor_name}"


def load_cached(name: str, content_hash: str, cache: AnalysisCache | None = None) -> FeatureResult | None:
    """The cached features of the file with ``content_hash`` for the current version, or None."""
    ex = get_extractor(name)
    arrays = (cache or feature_cache()).get_arrays(content_hash, analyzer_name(name), ex.version)
    if arrays is None or "frames" not in arrays or "times_s" not in arrays:
        return None
    extra = {k[len(_EXTRA_PREFIX):]: v for k, v in arrays.items() if k.startswith(_EXTRA_PREFIX)}
    return FeatureResult(frames=arrays["frames"], times_s=arrays["times_s"], extra=extra)


def extract_cached(name: str, path: str | Path, progress: ProgressFn | None = None,
                   should_cancel: CancelFn | None = None, cache: AnalysisCache | None = None,
                   content_hash: str | None = None) -> FeatureResult:
    """Features of ``path`` by extractor ``name``, computed once and then read from the cache.

    ``content_hash`` (the file's :func:`supervisor_app.infra.hashing.content_hash`) may be passed when
    the caller already knows it (the catalog does), to skip hashing the file again.
    """
    cache = cache or feature_cache()
    ex = get_extractor(name)
    h = content_hash or _content_hash(path)
    hit = load_cached(name, h, cache)
    if hit is not None:
        if progress:
            progress(1.0, f"{name} features (cached)")
        return hit
    result = ex.extract(path, progress=progress, should_cancel=should_cancel)
    arrays = {"frames": result.frames, "times_s": result.times_s}
    arrays.update({_EXTRA_PREFIX + k: v for k, v in result.extra.items()})
    cache.put_arrays(h, analyzer_name(name), ex.version, arrays)
    return result
