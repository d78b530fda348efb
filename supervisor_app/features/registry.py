"""Registry of named, versioned frozen feature extractors producing 1 Hz features from a file.

Time convention shared by every extractor: frame ``k`` summarises the window [k, k+1) s of the
file and ``times_s[k] = k + 0.5`` (its centre). A file of duration ``d`` seconds gives
``frame_count(d) = max(1, round(d))`` frames (a final partial window is kept when it is at least
0.5 s long). ``version`` changes whenever an extractor's output changes, which invalidates its
cache entries and lets trained models refuse features they were not trained on.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import ProgressFn, check_cancelled
from supervisor_app.infra.jobs import ShouldCancel as CancelFn

DEFAULT_AUDIO = "yamnet"
DEFAULT_VIDEO = "efficientnet-lite0"  # see image_nets: more discriminative, 1.3x MobileNetV2 in onnxruntime


@dataclass
class FeatureResult:
    """Features of one file at ``rate_hz``: ``frames`` (T, dim) float32, ``times_s`` (T,) window centres.

    ``extra`` holds named numpy arrays an extractor also produces (e.g. YAMNet's
    ``class_scores`` (T, 521)); every value is a numeric array so the result caches as is.
    """

    frames: np.ndarray
    times_s: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.frames = np.ascontiguousarray(self.frames, dtype=np.float32)
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        if self.frames.ndim != 2 or len(self.times_s) != len(self.frames):
            raise ValueError(f"frames {self.frames.shape} and times_s {self.times_s.shape} do not match")


@dataclass(frozen=True)
class ExtractorInfo:
    name: str
    version: str
    modality: str
    dim: int
    rate_hz: float
    available: bool
    missing: str | None  # what to pip-install when not available
    default: bool
    description: str


class Extractor(ABC):
    """A frozen feature extractor. Subclasses set the class attributes and implement ``extract``."""

    name: str
    version: str
    modality: str  # 'audio' | 'video'
    dim: int
    rate_hz: float = 1.0
    requires: str = ""  # pip requirement(s) naming the optional extra

    @abstractmethod
    def extract(self, path: str | Path, progress: ProgressFn | None = None,
                should_cancel: CancelFn | None = None) -> FeatureResult:
        """Features of the file at ``path`` at ``rate_hz`` (see the module docstring for timing)."""

    def missing(self) -> str | None:
        """The pip requirement(s) to install when this extractor cannot run here, else None."""
        return None

    def available(self) -> bool:
        return self.missing() is None

    def require(self) -> None:
        """Raise :class:`errors.MissingExtraError` naming what to install when unavailable."""
        what = self.missing()
        if what:
            raise errors.MissingExtraError(f"The feature extractor {self.name!r}", what)

    def description(self) -> str:
        doc = (type(self).__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def info(self) -> ExtractorInfo:
        return ExtractorInfo(self.name, self.version, self.modality, self.dim, self.rate_hz,
                             self.available(), self.missing(),
                             self.name in (DEFAULT_AUDIO, DEFAULT_VIDEO), self.description())


def frame_count(duration_s: float, rate_hz: float = 1.0) -> int:
    """Number of ``rate_hz`` frames for a file of ``duration_s`` seconds: max(1, round(d · rate))."""
    return max(1, int(np.floor(duration_s * rate_hz + 0.5)))


def check_cancel(should_cancel: CancelFn | None) -> None:
    check_cancelled(should_cancel, "The feature extraction")


# name -> "module:factory" (lazy: importing the registry imports no model code)
_FACTORIES: dict[str, str] = {
    "yamnet": "supervisor_app.features.yamnet:YamnetExtractor",
    "handcrafted": "supervisor_app.features.handcrafted:HandcraftedExtractor",
    "mobilenetv2": "supervisor_app.features.image_nets:mobilenet_v2",
    "efficientnet-lite0": "supervisor_app.features.image_nets:efficientnet_lite0",
}
_INSTANCES: dict[str, Extractor] = {}


def register(name: str, factory: str | Callable[[], Extractor]) -> None:
    """Add (or replace) an extractor: ``factory`` is a callable or a ``"module:attr"`` string."""
    _FACTORIES[name] = factory  # type: ignore[assignment]
    _INSTANCES.pop(name, None)


def extractor_names() -> list[str]:
    return sorted(_FACTORIES)


def _instance(name: str) -> Extractor:
    if name not in _FACTORIES:
        raise errors.UsageError(
            f"Unknown feature extractor {name!r}: choose one of {', '.join(extractor_names())}.")
    if name not in _INSTANCES:
        factory = _FACTORIES[name]
        if isinstance(factory, str):
            module, attr = factory.split(":")
            factory = getattr(importlib.import_module(module), attr)
        _INSTANCES[name] = factory()
    return _INSTANCES[name]


def get_extractor(name: str) -> Extractor:
    """The extractor called ``name``, ready to run.

    Raises :class:`errors.UsageError` for an unknown name and :class:`errors.MissingExtraError`
    (naming the packages to install) when its optional packages are missing.
    """
    ex = _instance(name)
    ex.require()
    return ex


def list_extractors() -> list[ExtractorInfo]:
    """Every registered extractor with its availability on this installation."""
    return [_instance(n).info() for n in extractor_names()]
