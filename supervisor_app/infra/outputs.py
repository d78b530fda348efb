"""Output files: validated before any work starts, written atomically, links written through.

``check_output(path, suffixes, what)`` is called by every command as soon as it has parsed its arguments,
so a typo in an extension, a read-only folder or a full disk is reported in one sentence *before* minutes
of analysis or rendering, not after. The writing itself (atomic, typed errors) is :mod:`.fileio`'s.

A link given as the output is written *through* (its target file is replaced, the link stays), which is
what a user who links ``~/Desktop/latest.mp4`` to a project file expects.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Iterable

from supervisor_app.infra.errors import DiskFullError, OutputExtensionError, OutputNotWritableError

#: Below this much free space, writing is refused up front (a JSON or a timeline needs little; an MP4
#: estimate can be passed as ``min_free_bytes``).
MIN_FREE_BYTES = 1 << 20

JSON = (".json",)
IMAGES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def resolve_output(path: str | Path) -> Path:
    """The file actually written for ``path``: a link's final target (created if it does not exist)."""
    p = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if os.path.islink(p):
        return Path(os.path.realpath(p))
    return p


def _existing_ancestor(p: Path) -> Path:
    q = p
    while not q.exists():
        if q.parent == q:
            break
        q = q.parent
    return q


def check_output(path: str | Path, suffixes: Iterable[str] | None, what: str = "The output file",
                 min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Validate an output path before any work; returns the path that will be written (links resolved).

    Checks: the extension is one of ``suffixes`` (case-insensitive; None = any), the path is not a folder
    or a special file, its folder exists or can be created, is writable, and has ``min_free_bytes`` free.
    """
    p = resolve_output(path)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if p.suffix.lower() not in allowed:
            raise OutputExtensionError(path, what, allowed)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputNotWritableError(path, what, e.strerror or str(e)) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputNotWritableError(path, what, "it is a folder")
        if not stat.S_ISREG(st.st_mode):
            raise OutputNotWritableError(path, what, "it is not a regular file")
    anc = _existing_ancestor(p.parent)
    if not anc.is_dir():
        raise OutputNotWritableError(path, what, f"{anc} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        reason = "the folder is read-only" if anc == p.parent else f"the folder {anc} is read-only"
        raise OutputNotWritableError(path, what, reason)
    try:
        free = shutil.disk_usage(anc).free
    except OSError:
        free = None
    if free is not None and free < max(0, int(min_free_bytes)):
        raise DiskFullError(path, what, free)
    return p


# --- the CLI's output arguments, checked before any command runs ----------------------------
#: Output options by argparse ``dest``: (allowed extensions, how the sentence names it).
_OUTPUT_ARGS = {
    "json": (JSON, "The JSON file"),
    "edit_json": (JSON, "The JSON file"),
    "plot": (IMAGES, "The plot"),
    "wav": ((".wav",), "The WAV file"),
    "otio": ((".otio",), "The OTIO timeline"),
    "fcpxml": ((".xml", ".fcpxml"), "The Final Cut Pro XML timeline"),
    "edl": ((".edl",), "The EDL"),
}
#: ``--out`` means different things per command (a folder for ``train``): only these are files.
_OUT_BY_COMMAND = {
    "mockup": (None, "The mockup", 32 << 20),  # its extension is checked by the command (MP4 family)
    "playlist": ((".m3u8", ".m3u", ".csv", ".xlsx", ".json"), "The playlist file", MIN_FREE_BYTES),
}
#: Commands whose output options are all files written at the end of the work.
_COMMANDS = ("analyze", "recommend", "similar", "search", "mockup", "playlist")


def check_output_args(args) -> None:
    """Validate every output file named on a command line before the command starts (see
    :func:`check_output`); '-' (standard output) is left alone."""
    command = getattr(args, "command", None)
    if command not in _COMMANDS:
        return
    for dest, (suffixes, what) in _OUTPUT_ARGS.items():
        value = getattr(args, dest, None)
        if isinstance(value, str) and value and value != "-":
            check_output(value, suffixes, what)
    out = getattr(args, "out", None)
    if command in _OUT_BY_COMMAND and isinstance(out, str) and out and out != "-":
        suffixes, what, min_free = _OUT_BY_COMMAND[command]
        if command == "playlist" and getattr(args, "format", None):
            suffixes = None  # --format says what to write, whatever the name
        check_output(out, suffixes, what, min_free_bytes=min_free)
