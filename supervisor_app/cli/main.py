"""``supervisor-app``: the command line, a thin layer over the core API.

Every user-caused error is a :class:`SupervisorError`: printed as one sentence, exit code 2.
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import sys

from supervisor_app import __version__
from supervisor_app.infra.errors import SupervisorError

# Modules that register sub-commands with ``add_cli(subparsers)``, in help order.
_COMMAND_MODULES = (
    "supervisor_app.cli.catalog",
    "supervisor_app.cli.analyze",
    "supervisor_app.cli.features",
    "supervisor_app.cli.brief",
    "supervisor_app.cli.recommend",
    "supervisor_app.cli.similar",
    "supervisor_app.cli.mockup",
    "supervisor_app.cli.playlists",
    "supervisor_app.cli.train",
    "supervisor_app.cli.archive",
    "supervisor_app.cli.musimnet",
    "supervisor_app.cli.pool",
    "supervisor_app.cli.demo",
    "supervisor_app.cli.app",
)


def _cmd_probe(args) -> int:
    from supervisor_app.media import probe

    info = probe(args.file)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    d = info.to_dict()
    warnings = d.pop("warnings", ())
    width = max(len(k) for k in d)
    for k, v in d.items():
        if v is not None:
            print(f"{k:<{width}}  {v}")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supervisor-app", description="Video-to-music recommendation for music supervisors.")
    p.add_argument("--version", action="version", version=f"supervisor-app {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    pr = sub.add_parser("probe", help="describe a media file (duration, streams, codecs)")
    pr.add_argument("file")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.set_defaults(func=_cmd_probe)
    for name in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue  # that part of the app is not installed in this build
            raise
        mod.add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # `evaluate musimnet ...` is the spelling of `musimnet evaluate ...` (the flat `evaluate`
    # command evaluates Seg-VM-Net/VM-Net on a folder of clips)
    rest = [a for a in argv if a != "--debug"]
    if rest[:1] == ["--version"]:  # answered before the sub-commands are imported (issue 21: ≤ 0.3 s CPU)
        print(f"supervisor-app {__version__}")
        return 0
    if rest[:2] == ["evaluate", "musimnet"]:
        i = argv.index("evaluate")
        argv[i:i + 2] = ["musimnet", "evaluate"]
    _safe_streams()
    from supervisor_app.infra.lifecycle import install_termination_handlers

    install_termination_handlers()  # `kill` runs the same cleanup as Ctrl-C (temp files, child processes)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        from supervisor_app.infra.outputs import check_output_args

        check_output_args(args)  # a bad output path is reported before minutes of work, not after
        rc = args.func(args)
        return int(rc or 0)
    except SupervisorError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # e.g. `catalog list --json | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except OSError as e:
        if debug:
            raise
        print(f"error: {_os_error_sentence(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _safe_streams() -> None:
    """File names that are not valid UTF-8 print as \\xNN escapes instead of stopping the command."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):  # pragma: no cover - replaced streams
            pass


def _os_error_sentence(e: OSError) -> str:
    """One sentence for an OS error that no typed error caught (a last line of defence)."""
    from supervisor_app.infra.errors import display_path

    where = f" {display_path(e.filename)}" if e.filename else ""
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"The disk is full (writing{where}): free some space and run the command again."
    if isinstance(e, PermissionError):
        return f"Permission denied for{where or ' a file'}: fix its permissions or choose another file."
    return f"{e.strerror or type(e).__name__} ({where.strip() or 'no file named'}): check the path and run again."


def entry() -> None:  # pragma: no cover
    _exit_now(main())


def _exit_now(rc: int) -> None:
    """End the process the way ``sys.exit`` does, less the interpreter's module teardown.

    With torch, numba and librosa loaded, that teardown (freeing every module's objects, writing
    nothing) took ~0.35 s at the end of every command that used them (issue 21). What a normal exit
    does that matters still happens, in the same order: the other non-daemon threads are waited for, the
    ``atexit`` handlers run (logging, ``weakref.finalize`` clean-ups such as temporary folders,
    multiprocessing's children), and the streams are flushed. The command itself has already closed its
    catalog and files (context managers)."""
    import atexit
    import threading

    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream: nothing left to say
            pass
    os._exit(int(rc) & 0xFF)


if __name__ == "__main__":  # pragma: no cover
    entry()
