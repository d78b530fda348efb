"""Size and time of the desktop package: build, install (dpkg), first start; anchored on the developer venv.

    .venv/bin/python benchmarks/bench_package.py [--deb dist/supervisor-app_X_amd64.deb] [--compress zstd:9]

Without ``--deb`` it builds one (``installer/build-package.sh --venv <this venv> --compress ...``) and times
it. It installs the .deb with dpkg into a fresh root (``dpkg --root``: the same unpacking as a real
install, without apt's download of dependencies, which the machine already has), then times, in one run
and alternating, the installed app and the developer venv (the anchor: same code, same machine) on
``supervisor-app --version`` and on the desktop app from launch to its window on screen (offscreen Qt).
Page cache warm (the second and later runs); the load average is printed beside every number.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WINDOW = """
import time, sys
from supervisor_app.gui.app import create_window, get_app, wait_until
app = get_app()
win = create_window()
win.show()
wait_until(win.isVisible, 60)
app.processEvents()
print("shown", flush=True)
"""


def load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def timed(cmd, env, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--deb", help="an existing .deb (default: build one)")
    p.add_argument("--compress", default="zstd:9")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        if args.deb:
            deb = Path(args.deb)
        else:
            print(f"building ({args.compress}) ... {load()}", flush=True)
            t0 = time.perf_counter()
            r = subprocess.run(["bash", str(REPO / "installer" / "build-package.sh"), "--venv", sys.prefix,
                                "--out", str(work / "dist"), "--compress", args.compress],
                               check=True, capture_output=True, text=True)
            deb = Path(r.stdout.strip().splitlines()[-1])
            print(f"build: {time.perf_counter() - t0:.0f} s   {load()}")
        installed = int(subprocess.run(["dpkg-deb", "-f", str(deb), "Installed-Size"], capture_output=True,
                                       text=True).stdout.strip() or 0)
        print(f"package: {deb.name} {deb.stat().st_size / 1e6:.0f} MB; installed {installed / 1e6:.2f} GB")
        root = work / "root"
        for d in ("info", "updates", "triggers"):
            (root / "var/lib/dpkg" / d).mkdir(parents=True)
        for f in ("status", "available"):
            (root / "var/lib/dpkg" / f).touch()
        t0 = time.perf_counter()
        subprocess.run(["dpkg", f"--root={root}", "--force-depends", "--force-script-chrootless", "--log=/dev/null",
                        "-i", str(deb)], check=True, capture_output=True)
        print(f"install (dpkg -i, dependencies present): {time.perf_counter() - t0:.0f} s   {load()}")
        home = work / "home"
        (home / "run").mkdir(parents=True, mode=0o700)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
               "XDG_RUNTIME_DIR": str(home / "run"), "SUPERVISOR_NO_FIRST_RUN": "1"}
        pkg_exe = [str(root / "usr/bin/supervisor-app")]
        pkg_py = [str(root / "opt/supervisor-app/bin/python3"), "-I"]
        dev_exe = [sys.executable, "-m", "supervisor_app.cli.main"]
        dev_env = dict(env, PYTHONPATH=str(REPO))
        first = timed(pkg_exe + ["--version"], env, 1)[0]
        print(f"first start ever, --version: {first:.2f} s   {load()}")
        rows = []
        for what, pkg_cmd, dev_cmd in (("--version", pkg_exe + ["--version"], dev_exe + ["--version"]),
                                       ("app window shown", pkg_py + ["-c", WINDOW], [sys.executable, "-c", WINDOW])):
            pk, dv = [], []
            for _ in range(args.repeat):  # alternate, so both see the same load
                pk += timed(pkg_cmd, env, 1)
                dv += timed(dev_cmd, dev_env, 1)
            rows.append((what, statistics.median(pk), statistics.median(dv)))
            print(f"{what}: package {statistics.median(pk):.2f} s, developer venv {statistics.median(dv):.2f} s "
                  f"(ratio {statistics.median(pk) / statistics.median(dv):.2f})   {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
