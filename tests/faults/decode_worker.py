"""A long-lived child process for crash-safe decoding tests: one file path per stdin line, one JSON line back.

For each path it runs ``probe`` and ``load_audio`` (mono and multichannel) and reports the outcome:
``{"probe": outcome, "audio": outcome}`` with outcome ``{"ok": true, ...}``, ``{"typed": "ErrorClass",
"message": ...}`` for a SupervisorError, or ``{"untyped": "ExcClass: text"}`` for anything else. A crash
(segfault) or a hang shows up in the parent as a dead or silent child.
"""
from __future__ import annotations

import json
import sys
import traceback


def outcome(fn):
    from supervisor_app.infra.errors import SupervisorError

    try:
        return {"ok": True, **(fn() or {})}
    except SupervisorError as e:
        return {"typed": type(e).__name__, "message": str(e)}
    except Exception as e:  # noqa: BLE001 - that is what the test looks for
        return {"untyped": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}


def check(path: str) -> dict:
    import numpy as np

    from supervisor_app.media import load_audio, probe

    def p():
        info = probe(path)
        return {"duration_s": info.duration_s, "has_audio": info.has_audio}

    def a():
        out = {}
        for mono in (True, False):
            x = load_audio(path, sr=16000, mono=mono)
            if not np.all(np.isfinite(x)):
                raise AssertionError("load_audio returned NaN or inf samples")
            if x.dtype != np.float32 or (x.ndim != (1 if mono else 2)):
                raise AssertionError(f"load_audio returned {x.dtype} {x.shape}")
            out["samples" if mono else "shape"] = list(x.shape) if not mono else int(x.shape[0])
        return out

    return {"probe": outcome(p), "audio": outcome(a)}


def main() -> None:
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        print(json.dumps(check(path)), flush=True)


if __name__ == "__main__":
    main()
