"""The mypy ratchet: errors per file may only go down.

``tests/mypy_baseline.txt`` holds ``<count> <path>`` per file that has mypy errors today (config in
pyproject.toml, ``[tool.mypy]``). ``tests/test_quality_gates.py`` runs mypy and fails when a file has more
errors than its baseline (a new file's baseline is 0), and also when it has fewer, so that the baseline is
lowered in the same commit as the fix and the gained ground cannot be lost again.

    python tests/mypy_gate.py                    # compare (what the test does), exit 1 on any difference
    python tests/mypy_gate.py --update           # rewrite the baseline; refuses while the TOTAL went up
    python tests/mypy_gate.py --update --force   # rewrite it anyway (say why in the commit message)

``--update`` accepts a file going up while the total does not (a module moved or split keeps its errors
under a new name); a new error elsewhere has to be fixed, or forced in with a reason.

mypy keeps its cache in the system temp folder (one per checkout, never in the repository or the app's
data folder), so the second run takes seconds.
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "tests" / "mypy_baseline.txt"
_ERROR = re.compile(r"^(?P<path>[^:\s][^:]*\.pyi?):\d+(?::\d+)?: error: ")


def mypy_cache_dir() -> Path:
    key = hashlib.sha1(str(REPO).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"supervisor-app-mypy-cache-{key}"


def mypy_command() -> list[str]:
    exe = Path(sys.executable).with_name("mypy")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "mypy"]
    return head + ["--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(mypy_cache_dir()),
                   "--no-error-summary", "--hide-error-context", "--no-pretty"]


def count_errors(output: str) -> Counter:
    """Errors per file (notes are not counted) in mypy's output."""
    counts: Counter = Counter()
    for line in output.splitlines():
        m = _ERROR.match(line)
        if m:
            counts[m.group("path").replace("\\", "/")] += 1
    return counts


def run_mypy(timeout_s: float = 900) -> tuple[Counter, str]:
    """Run mypy on the packages pyproject.toml names; return the per-file error counts and the output.
    Raises RuntimeError when mypy itself fails (exit status 2: bad config, crash)."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    r = subprocess.run(mypy_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)
    out = r.stdout + r.stderr
    if r.returncode not in (0, 1):
        raise RuntimeError(f"mypy failed (exit {r.returncode}):\n{out[-4000:]}")
    return count_errors(r.stdout), out


def read_baseline(path: Path = BASELINE) -> Counter:
    counts: Counter = Counter()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        n, name = line.split(None, 1)
        counts[name.strip()] = int(n)
    return counts


def write_baseline(counts: Counter, path: Path = BASELINE) -> None:
    lines = ["# mypy errors per file (tests/mypy_gate.py): counts may only go down; "
             f"total {sum(counts.values())}"]
    lines += [f"{n} {name}" for name, n in sorted(counts.items()) if n > 0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Comparison:
    worse: dict[str, tuple[int, int]] = field(default_factory=dict)   # path -> (baseline, now)
    better: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return not self.worse and not self.better


def compare(baseline: Counter, now: Counter) -> Comparison:
    c = Comparison()
    for name in sorted(set(baseline) | set(now)):
        was, got = baseline.get(name, 0), now.get(name, 0)
        if got > was:
            c.worse[name] = (was, got)
        elif got < was:
            c.better[name] = (was, got)
    return c


def describe(c: Comparison, output: str) -> str:
    parts = []
    if c.worse:
        parts.append("mypy found MORE errors than tests/mypy_baseline.txt allows (fix them; the baseline only "
                     "goes down; if they moved with a renamed module, `python tests/mypy_gate.py --update`):")
        parts += [f"  {name}: {was} -> {got}" for name, (was, got) in c.worse.items()]
        new = [line for line in output.splitlines()
               if (m := _ERROR.match(line)) and m.group("path").replace("\\", "/") in c.worse]
        parts.append("errors in those files:")
        parts += ["  " + line for line in new[:60]]
    if c.better:
        parts.append("mypy found FEWER errors than tests/mypy_baseline.txt: lower the baseline in this commit "
                     "(run `python tests/mypy_gate.py --update`):")
        parts += [f"  {name}: {was} -> {got}" for name, (was, got) in c.better.items()]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    now, out = run_mypy()
    c = compare(read_baseline() if BASELINE.exists() else Counter(), now)
    if "--update" in argv:
        was = read_baseline() if BASELINE.exists() else None
        if was is not None and sum(now.values()) > sum(was.values()) and "--force" not in argv:
            print(describe(Comparison(worse=c.worse), out))
            print(f"not updated: the total went up ({sum(was.values())} -> {sum(now.values())}); "
                  "the baseline never goes up (--force overrides)")
            return 1
        write_baseline(now)
        print(f"wrote {BASELINE} ({sum(now.values())} errors in {len(now)} files)")
        return 0
    if c.same:
        print(f"mypy: {sum(now.values())} errors in {len(now)} files, as in the baseline")
        return 0
    print(describe(c, out))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
