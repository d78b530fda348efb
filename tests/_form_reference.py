"""The form planner as it was before it was made faster (commit 9c80096), loaded from git at test time,
with the splice-audibility module of the same commit: the reference that the planner's exactness tests
(tests/test_form_planner_exact.py) and ``benchmarks/bench_planner.py`` compare today's planner against.
No code is copied: ``git show`` reads both files from the repository's history.

``reference()`` returns ``(form_module, audibility_module)`` or raises ``ReferenceUnavailable`` (no git,
or a checkout without that commit, e.g. a shallow clone)."""
from __future__ import annotations

import subprocess
import sys
import types
from functools import lru_cache
from pathlib import Path

REFERENCE_COMMIT = "9c80096"  # the last commit with the original planner (issue 21)
_ROOT = Path(__file__).resolve().parent.parent


class ReferenceUnavailable(RuntimeError):
    pass


def _source(path: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(_ROOT), "show", f"{REFERENCE_COMMIT}:{path}"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise ReferenceUnavailable(f"git cannot be run: {e}") from e
    if out.returncode != 0:
        raise ReferenceUnavailable(f"commit {REFERENCE_COMMIT} is not in this checkout: {out.stderr.strip()}")
    return out.stdout


def _load(name: str, src: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__file__ = f"<{name}@{REFERENCE_COMMIT}>"
    sys.modules[name] = mod  # dataclasses look their module up while the class body runs
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    return mod


@lru_cache(maxsize=1)
def reference() -> tuple[types.ModuleType, types.ModuleType]:
    aud = _load("_form_reference_audibility", _source("supervisor_app/edit/audibility.py"))
    src = _source("supervisor_app/edit/form.py").replace("supervisor_app.edit.audibility", aud.__name__)
    form = _load("_form_reference_form", src)
    return form, aud
