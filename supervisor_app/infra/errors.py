"""Typed errors a user can cause, each carrying one sentence the CLI and GUI show as is.

Every exception raised for a user-caused problem derives from :class:`SupervisorError`; its
``str()`` is a complete, human sentence (no traceback needed). The CLI prints it and exits 2.
"""
from __future__ import annotations

import os
from pathlib import Path


class SupervisorError(Exception):
    """Base class: ``str(err)`` is one sentence the user understands."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


# --- media ---------------------------------------------------------------------------------
class MediaError(SupervisorError):
    """A media file could not be used."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(message)
        self.path = str(path)


def display_name(path) -> str:
    """A file name safe to print: undecodable bytes (non-UTF-8 names) shown as \\xNN escapes."""
    import os

    name = os.path.basename(os.fspath(path))
    if isinstance(name, bytes):
        return name.decode("utf-8", "backslashreplace")
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def display_path(path) -> str:
    """A full path safe to print or store as text (see :func:`display_name`)."""
    import os

    p = os.fspath(path)
    if isinstance(p, bytes):
        return p.decode("utf-8", "backslashreplace")
    return p.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FileMissingError(MediaError):
    def __init__(self, path):
        super().__init__(path, f"The file '{display_name(path)}' does not exist ({display_path(path)}).")


class FileUnreadableError(MediaError):
    def __init__(self, path, reason: str = "permission denied"):
        super().__init__(path, f"The file '{display_name(path)}' cannot be read ({reason}).")


class NotMediaError(MediaError):
    def __init__(self, path):
        super().__init__(path, f"The file '{display_name(path)}' is not an audio or video file.")


class CorruptMediaError(MediaError):
    def __init__(self, path, detail: str = ""):
        extra = f" ({detail})" if detail else ""
        super().__init__(path, f"The file '{display_name(path)}' is damaged or truncated and cannot be decoded{extra}.")


class NoAudioStreamError(MediaError):
    def __init__(self, path):
        super().__init__(path, f"The file '{display_name(path)}' has no audio track.")


class NoVideoStreamError(MediaError):
    def __init__(self, path):
        super().__init__(path, f"The file '{display_name(path)}' has no video track (is it an audio file?).")


class NotRegularFileError(MediaError):
    """A named pipe, a device or a socket: reading it could block for ever or never end."""

    def __init__(self, path, kind: str = "special file"):
        super().__init__(path, f"{display_path(path)} is a {kind}, not a regular file: give the path of an audio or "
                               f"video file.")


class TruncatedMediaError(CorruptMediaError):
    """The file stops before its end (an interrupted copy or download)."""

    def __init__(self, path, detail: str = ""):
        extra = f" ({detail})" if detail else ""
        MediaError.__init__(self, path, f"The file '{display_name(path)}' is truncated{extra}: copy or download it "
                                        f"again.")


class PictureTooLongError(MediaError):
    """A picture far longer than a cue: refused before minutes of shot detection."""

    def __init__(self, path, duration_s: float, limit_s: float, env: str):
        super().__init__(path, f"The picture '{display_name(path)}' is {_hms(duration_s)} long, over the "
                               f"{_hms(limit_s)} limit for one cue: cut the scene out first, or raise the limit "
                               f"with {env}=MINUTES.")


class PictureTooShortError(MediaError):
    """A picture too short to cut music to (e.g. a single frame)."""

    def __init__(self, path, duration_s: float, min_s: float):
        super().__init__(path, f"The picture '{display_name(path)}' is only {duration_s:.2f} s long; music is cut to "
                               f"pictures of at least {min_s:g} s: give the scene's video.")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ZeroDurationError(MediaError):
    def __init__(self, path):
        super().__init__(path, f"The file '{display_name(path)}' is empty (zero duration).")


class UnsupportedCodecError(MediaError):
    def __init__(self, path, codec: str):
        super().__init__(path, f"The file '{display_name(path)}' uses the codec {codec!r}, which this installation cannot decode.")


# --- catalog -------------------------------------------------------------------------------
class CatalogError(SupervisorError):
    """A catalog could not be opened, read or written."""


class CatalogNotFoundError(CatalogError):
    def __init__(self, path):
        super().__init__(f"No catalog at {path}: create one with 'supervisor-app catalog create --catalog {path}'.")
        self.path = str(path)


class CatalogReadOnlyError(CatalogError):
    """The catalog is sound but cannot be written (a read-only disk, folder or file)."""

    def __init__(self, path, doing: str = ""):
        what = f" so {doing} cannot be saved" if doing else ""
        super().__init__(f"The catalog {display_path(path)} is read-only (read-only disk, folder or file){what}; it is "
                         f"not damaged: copy it somewhere writable or fix the permissions to change it.")
        self.path = str(path)


class CatalogLockedError(CatalogError):
    """Another process is indexing this catalog."""

    def __init__(self, path, holder: str):
        super().__init__(f"The catalog {display_path(path)} is being indexed by {holder}: wait for it to finish "
                         f"(or add --wait to queue behind it).")
        self.path = str(path)


class EmptyCatalogError(CatalogError):
    def __init__(self, what: str = "tracks", hint: str = "add a folder and index it first"):
        super().__init__(f"The catalog has no {what}: {hint}.")


# --- analysis / models ---------------------------------------------------------------------
class AnalysisError(SupervisorError):
    """An analyzer could not produce a result for this input."""


class ModelError(SupervisorError):
    """A model file is missing, corrupt, or does not match this installation."""


class UnsafeWeightsError(ModelError):
    """A weights file that holds pickled objects (code), not only tensors: never loaded."""

    def __init__(self, name: str, path):
        super().__init__(f"The weights of the model {name!r} ({display_path(path)}) hold Python objects, not only "
                         f"tensors, so they were not loaded (that could run code): use a model saved by "
                         f"supervisor-app, or retrain it.")


class ModelCardError(ModelError):
    """A model card that is not a JSON object with the expected fields."""

    def __init__(self, folder, reason: str):
        super().__init__(f"The model card {display_path(folder)}/model_card.json is not valid ({reason}): restore "
                         f"it from the model's original folder, or retrain the model.")


class MissingExtraError(SupervisorError):
    """An optional dependency is not installed."""

    def __init__(self, feature: str, extra: str):
        super().__init__(f"{feature} needs the optional package(s) {extra!r}: install them with '.venv/bin/pip install {extra}'.")


class UsageError(SupervisorError):
    """The user asked for something that does not make sense (bad option value, missing file, ...)."""


# A cancelled job raises supervisor_app.infra.jobs.Cancelled (a SupervisorError: exit code 2).


# --- output files --------------------------------------------------------------------------
class OutputError(SupervisorError):
    """An output file cannot be written where the user asked."""

    def __init__(self, path, message: str):
        super().__init__(message)
        self.path = str(path)


class OutputExtensionError(OutputError):
    def __init__(self, path, what: str, allowed):
        ext = os.path.splitext(os.fspath(path))[1] or "(none)"
        super().__init__(path, f"{what} {display_path(path)} has the extension {ext!r}, which cannot be written: "
                               f"use {', '.join(sorted(allowed))}.")


class OutputNotWritableError(OutputError):
    def __init__(self, path, what: str, reason: str):
        super().__init__(path, f"{what} {display_path(path)} cannot be written ({reason}): choose another place or "
                               f"fix the folder's permissions.")


class DiskFullError(OutputError):
    def __init__(self, path, what: str, free_bytes: int | None = None):
        free = "" if free_bytes is None else f", {free_bytes / 1e6:.1f} MB free"
        super().__init__(path, f"{what} {display_path(path)} cannot be written: the disk is full{free}; free some "
                               f"space or write elsewhere.")
