"""Arguments every command shares, declared and read in one place.

* ``--catalog PATH`` and how a command gets its catalog (:func:`add_catalog_argument`,
  :func:`open_catalog_arg`, :func:`catalog_path_arg`): ``--catalog`` or the last catalog used, which
  becomes the default from then on (:mod:`supervisor_app.catalog.resolve`);
* the rights and metadata filters (:func:`add_filter_arguments`, :func:`filters_from_args`);
* ``-q/--quiet`` (no progress line, :mod:`supervisor_app.cli.progress_line`);
* ``--json OUT``, a JSON file written at the end (:func:`add_json_out_argument`, :func:`write_json_out`;
  the main CLI checks every output path before the command starts: :mod:`supervisor_app.infra.outputs`).
"""
from __future__ import annotations

import json
from pathlib import Path

from supervisor_app.catalog.filters import Filters

__all__ = ["add_catalog_argument", "catalog_help", "open_catalog_arg", "catalog_path_arg", "add_filter_arguments",
           "filters_from_args", "add_quiet_argument", "add_json_out_argument", "write_json_out"]


# --- the catalog -----------------------------------------------------------------------------------
def catalog_help() -> str:
    """Help text for ``--catalog`` naming the current default."""
    from supervisor_app.catalog.resolve import catalog_help as _help

    return _help()


def add_catalog_argument(p, help: str | None = None) -> None:
    """``--catalog PATH`` (default: the last catalog used)."""
    p.add_argument("--catalog", metavar="PATH", default=None, help=help or catalog_help())


def open_catalog_arg(args):
    """The open catalog of ``--catalog``, or of the last catalog used (remembered as the default)."""
    from supervisor_app.catalog.resolve import open_catalog

    return open_catalog(getattr(args, "catalog", None))


def catalog_path_arg(args, *, remember: bool = True) -> Path:
    """``--catalog`` or the last catalog used, as a path (not opened); with ``remember``, remembered as the
    default from now on when it was named or exists."""
    from supervisor_app.catalog.resolve import catalog_path_from
    from supervisor_app.infra.settings import remember_catalog

    arg = getattr(args, "catalog", None)
    path = catalog_path_from(arg)
    if remember and (arg is not None or path.exists()):
        remember_catalog(path)
    return path


# --- filters ---------------------------------------------------------------------------------------
def add_filter_arguments(p) -> None:
    p.add_argument("--exclude-artist", action="append", default=[], metavar="NAME", help="leave out this artist (repeatable)")
    p.add_argument("--bpm-range", metavar="MIN:MAX", help="tempo range, e.g. 90:110")
    p.add_argument("--duration-range", metavar="MIN:MAX", help="track duration range in seconds, e.g. 60:240")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="only tracks with this user tag (repeatable)")
    p.add_argument("--exclude-tag", action="append", default=[], metavar="TAG", help="leave out tracks with this tag")
    p.add_argument("--one-stop", action="store_true", help="only one-stop tracks (master and publishing from one source)")
    p.add_argument("--territory", metavar="T", help="only tracks cleared in this territory, e.g. US, Germany")
    p.add_argument("--cleared-for", action="append", default=[], metavar="MEDIA",
                   help="only tracks cleared for this media: TV, online, film, games, ads, ... (repeatable)")
    p.add_argument("--not-restricted-for", action="append", default=[], metavar="USE",
                   help="leave out tracks whose restrictions name this use, e.g. alcohol (repeatable)")


def filters_from_args(args) -> Filters:
    return Filters(exclude_artists=list(args.exclude_artist),
                   bpm_range=Filters.parse_range(args.bpm_range, "BPM range (--bpm-range)"),
                   duration_range_s=Filters.parse_range(args.duration_range, "duration range (--duration-range)"),
                   include_tags=list(args.tag), exclude_tags=list(args.exclude_tag),
                   one_stop_only=bool(getattr(args, "one_stop", False)), territory=getattr(args, "territory", None),
                   cleared_for=list(getattr(args, "cleared_for", []) or []),
                   not_restricted_for=list(getattr(args, "not_restricted_for", []) or []))


# --- progress --------------------------------------------------------------------------------------
def add_quiet_argument(parser) -> None:
    """``-q/--quiet`` on a subcommand: no progress line on stderr."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")


# --- output files ----------------------------------------------------------------------------------
def add_json_out_argument(p, help: str = "write the full result as JSON") -> None:
    """``--json OUT``: a JSON file written (atomically) when the command has finished."""
    p.add_argument("--json", metavar="OUT", help=help)


def write_json_out(path, doc, *, announce: bool = True, ensure_ascii: bool = True) -> None:
    """Write ``doc`` as JSON at ``path`` (atomic); ``announce``: print ``wrote PATH``."""
    from supervisor_app.infra.fileio import atomic_write_text

    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=ensure_ascii))
    if announce:
        print(f"wrote {path}")
