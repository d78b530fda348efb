"""Frozen feature extractors at 1 Hz (audio: YAMNet, handcrafted, MusiCNN; video: ImageNet CNNs).

Use :func:`get_extractor` / :func:`extract_cached`; see :mod:`.registry` for the time convention.
"""
from supervisor_app.features.registry import (
    DEFAULT_AUDIO,
    DEFAULT_VIDEO,
    Extractor,
    ExtractorInfo,
    FeatureResult,
    extractor_names,
    frame_count,
    get_extractor,
    list_extractors,
    register,
)
from supervisor_app.features.cache import extract_cached, feature_cache

__all__ = ["DEFAULT_AUDIO", "DEFAULT_VIDEO", "Extractor", "ExtractorInfo", "FeatureResult", "extract_cached",
           "extractor_names", "feature_cache", "frame_count", "get_extractor", "list_extractors", "register"]
