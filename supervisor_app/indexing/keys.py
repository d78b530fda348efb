"""What indexing stores, by name and version: the analyses and embeddings a catalog track gets
(beats, segmentations, YAMNet frames / mean / segment means, auto-tags, a model's segment embeddings).
Readers (recommend, similar, briefs, the GUI) ask here under which key a result lives."""
from __future__ import annotations

SEGMENT_ALGORITHMS = ("olda", "foote", "sf")  # all three at index time: after the first, each costs ~0.001 s/audio-s
DEFAULT_SEGMENTATION = "olda"
YAMNET_FRAMES = "yamnet-frames"  # embeddings table: (T, 1024) float16 at 1 Hz
YAMNET_MEAN = "yamnet-mean"  # embeddings table: (1024,) float32, mean of the frames
SEGMEANS_PREFIX = "yamnet-segmeans-"  # embeddings table: (K, 1024) float32 per segmentation (frames=False)
AUTOTAGS = "autotags-yamnet"  # analyses table: {"tags": [[name, score], ...]}


def bar_splices_key() -> tuple[str, str]:
    """(embeddings name, version) of a track's splice sides and energy sums at its bar lines
    (:mod:`supervisor_app.edit.bar_splices`; an empty array: the track has no bar grid to cut on)."""
    from supervisor_app.edit.audibility import TRACK_FEATURES_VERSION
    from supervisor_app.edit.bar_splices import BAR_SPLICES, BAR_SPLICES_VERSION

    return BAR_SPLICES, f"{BAR_SPLICES_VERSION}|{TRACK_FEATURES_VERSION}|{beats_key()[1]}"


def beats_key() -> tuple[str, str]:
    from supervisor_app.analysis import versions

    return versions.BEATS, versions.beats_version()


def segment_versions(algorithm: str) -> tuple[str, tuple[str, str]]:
    """(analyzer name, (version with madmom's beats, version with MSAF's own beats)) of one algorithm."""
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import segments_analyzer

    return segments_analyzer(algorithm), (versions.segments_version(algorithm, versions.beats_version()),
                                          versions.segments_version(algorithm, None))


def yamnet_version() -> str:
    from supervisor_app.features import get_extractor

    return get_extractor("yamnet").version


def segmeans_key(algorithm: str, segments_version: str) -> tuple[str, str]:
    """(embeddings name, version) of a track's YAMNet segment means for one stored segmentation."""
    return f"{SEGMEANS_PREFIX}{algorithm}", f"{yamnet_version()}|{segments_version}"


def model_embedding_key(loaded) -> tuple[str, str]:
    """(embeddings-table model name, version) under which a model's segment embeddings are stored."""
    return f"segvmnet:{loaded.card.name}", loaded.card.sha256[:16]
