#!/usr/bin/env python3
"""Build the Debian package of supervisor-app from an environment made by ``installer/install.sh``.

Layout of the package (a self-contained Python under /opt, so it runs where the system's Python is
another version, e.g. Ubuntu 24.04's 3.12):

    /opt/supervisor-app/bin/python3.X          the interpreter the venv was built on (RUNPATH $ORIGIN/../lib)
    /opt/supervisor-app/lib/libpython3.X.so.1.0  (when that Python is a shared build)
    /opt/supervisor-app/lib/python3.X/         its standard library (no test suite, no Tk, no IDLE)
    /opt/supervisor-app/lib/python3.X/site-packages/   the venv's packages (editable hooks dropped)
    /opt/supervisor-app/app/                   supervisor_app/, resources/, models/ (found through a .pth)
    /opt/supervisor-app/bin/supervisor-app     launcher (python -I: no user site, no PYTHONPATH)
    /usr/bin/supervisor-app -> ../../opt/supervisor-app/bin/supervisor-app
    /usr/share/applications, icons/hicolor, metainfo, doc

Nothing is downloaded: the build copies (hard-links where it can) what the venv already holds. System
libraries the ELF files need are mapped to Debian packages with ``dpkg -S`` on the build machine and
declared as dependencies, with the 64-bit-time (``t64``) names of Ubuntu 24.04 as alternatives.

Standard library only (runs with any Python 3.9+); Linux only.
"""
from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PKG = "supervisor-app"
PREFIX = Path("opt") / PKG

# Declared explicitly: loaded at run time (ctypes, subprocess, Qt plugins) rather than linked.
EXPLICIT_DEPENDS = [
    "ffmpeg",
    "libvlc5", "vlc-plugin-base", "vlc-plugin-video-output",
    # Qt's xcb platform plugin (Qt 6 docs, "Qt for X11 Requirements")
    "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
    "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1", "libxcb-xfixes0", "libxcb-xkb1",
    "libxkbcommon-x11-0", "libxkbcommon0", "libfontconfig1", "libfreetype6", "libdbus-1-3", "libegl1", "libgl1",
    "libsndfile1",
]
RECOMMENDS = ["xdg-utils", "fonts-dejavu-core"]
# Debian 12 names whose Ubuntu 24.04 successors carry a t64 suffix (amd64 keeps the ABI; the new
# packages also Provide the old names, the alternative just says so plainly).
T64 = re.compile(r"^(libssl3|libreadline8|libtirpc3|libglib2\.0-0|libasound2|libcurl4|libpng16-16|libgnutls30|"
                 r"libnsl2|libtiff6|libgssapi-krb5-2|libkrb5-3|libk5crypto3|libkrb5support0|libdb5\.3|"
                 r"libncursesw6|libtinfo6|libxml2|libpulse0|libcups2|libgtk-3-0|libatk1\.0-0|libnss3|libuuid1|"
                 r"libblkid1|libmount1|libsmartcols1|libzstd1|libelf1|libcap2|libvlc5|libvlccore9)$")

# Stdlib parts a desktop app never uses (and that would pull Tk/Tcl into the dependencies).
STDLIB_SKIP = ["test", "idlelib", "tkinter", "turtledemo", "site-packages", "config-*", "lib-dynload/_tkinter*",
               "lib2to3/tests", "distutils/tests", "ctypes/test", "sqlite3/test", "unittest/test", "turtle.py"]
# Venv parts left out: the editable install of the repository (the package carries its own copy) and
# Qt WebEngine (a Chromium, 260 MB, never imported by the app).
SITE_SKIP = ["__editable__*", "__pycache__/__editable__*", "supervisor_app-*.dist-info", "supervisor_app", "*.egg-link",
             "PySide6/Qt/lib/libQt6WebEngine*", "PySide6/Qt/libexec/QtWebEngineProcess",
             "PySide6/Qt/resources/qtwebengine*", "PySide6/Qt/translations/qtwebengine_locales",
             "PySide6/QtWebEngine*", "PySide6/Qt/qml/QtWebEngine", "PySide6/Qt/plugins/designer",
             "PySide6/Qt/plugins/webview", "PySide6/Qt/lib/libQt6WebView*", "PySide6/QtWebView*",
             "PySide6/Qt/qml/QtWebView", "PySide6/Qt/lib/libQt6Designer*", "PySide6/QtDesigner*",
             "PySide6/designer", "PySide6/Designer*", "PySide6/Qt/plugins/sqldrivers/libqsqlmimer*",
             "PySide6/Qt/plugins/sqldrivers/libqsqlmysql*", "PySide6/Qt/plugins/sqldrivers/libqsqlodbc*",
             "PySide6/Qt/plugins/sqldrivers/libqsqlpsql*", "PySide6/Qt/plugins/sqldrivers/libqsqlibase*",
             "PySide6/Qt/plugins/sqldrivers/libqsqloci*"]
APP_SKIP = ["__pycache__", "*.pyc", ".*"]


def log(msg: str) -> None:
    print(f"[build-package] {msg}", file=sys.stderr, flush=True)


class BuildError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------
# copying

def _skip(rel: str, patterns) -> bool:
    """``rel`` (a path relative to the copied tree; directories are pruned when they match) is left out."""
    return any(fnmatch.fnmatch(rel, p) for p in patterns)


def copy_tree(src: Path, dst: Path, skip=(), link: bool = True) -> tuple[int, int]:
    """Copy ``src`` into ``dst`` (hard links when ``link`` and the file system allows; mtimes kept so
    shipped .pyc files stay valid). Returns (files, bytes)."""
    n = size = 0
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root
        dirs[:] = [d for d in dirs if not _skip(os.path.join(rel_root, d), skip)]
        out_root = dst / rel_root
        out_root.mkdir(parents=True, exist_ok=True)
        for name in files:
            rel = os.path.join(rel_root, name)
            if _skip(rel, skip):
                continue
            s, d = Path(root) / name, out_root / name
            if s.is_symlink():
                target = os.readlink(s)
                if os.path.isabs(target):
                    raise BuildError(f"{s} is an absolute symlink ({target}): the package would point outside itself.")
                os.symlink(target, d)
                continue
            st = s.stat()
            if link:
                try:
                    os.link(s, d)
                except OSError:
                    link = False
            if not link:
                shutil.copy2(s, d)
            n += 1
            size += st.st_size
    return n, size


# ---------------------------------------------------------------------------------------------------
# the interpreter

def venv_facts(venv: Path) -> dict:
    py = venv / "bin" / "python"
    if not py.exists():
        raise BuildError(f"No environment at {venv}: run installer/install.sh first (or pass --venv).")
    code = ("import sys, sysconfig, json; print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
            "'full': sys.version.split()[0], 'base': sys.base_prefix, 'prefix': sys.prefix, "
            "'stdlib': sysconfig.get_paths()['stdlib'], 'purelib': sysconfig.get_paths()['purelib'], "
            "'platlib': sysconfig.get_paths()['platlib'], 'shared': bool(sysconfig.get_config_var('Py_ENABLE_SHARED')), "
            "'ldlibrary': sysconfig.get_config_var('INSTSONAME') or sysconfig.get_config_var('LDLIBRARY'), "
            "'libdir': sysconfig.get_config_var('LIBDIR'), 'executable': sys.executable, "
            "'base_exe': getattr(sys, '_base_executable', sys.executable)}))")
    facts = json.loads(subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout)
    if facts["base"] == facts["prefix"]:
        raise BuildError(f"{venv} is not a virtual environment.")
    return facts


def stage_python(facts: dict, opt: Path) -> None:
    ver = facts["version"]
    base = Path(facts["base"])
    base_exe = Path(os.path.realpath(facts["base_exe"]))
    if not base_exe.exists():
        raise BuildError(f"The venv's base interpreter {base_exe} is gone.")
    std = Path(facts["stdlib"])
    if not (std / "os.py").exists():
        raise BuildError(f"No standard library at {std}.")
    if std != base / "lib" / f"python{ver}" or str(base) == "/usr":
        # e.g. Debian's /usr/bin/python3.11: its site.py looks for dist-packages, never for a copied
        # site-packages, and its stdlib is patched for /usr: it is not relocatable.
        raise BuildError(f"The venv's Python ({base_exe}, standard library {std}) is the system's, which cannot be moved: "
                         "build the venv on a self-contained Python (python.org / pyenv build), e.g. "
                         "PYTHON=/path/to/python3.11 installer/install.sh.")
    (opt / "bin").mkdir(parents=True, exist_ok=True)
    exe = opt / "bin" / f"python{ver}"
    shutil.copy2(base_exe, exe)           # a real copy: patchelf edits it
    os.symlink(f"python{ver}", opt / "bin" / "python3")
    os.symlink(f"python{ver}", opt / "bin" / "python")
    (opt / "lib").mkdir(exist_ok=True)
    if facts["shared"]:
        lib = Path(facts["libdir"]) / facts["ldlibrary"]
        if not lib.exists():
            raise BuildError(f"The shared libpython {lib} is missing.")
        shutil.copy2(lib, opt / "lib" / lib.name)
    # Find libpython next to the binary wherever the package is unpacked.
    subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(exe)], check=True)
    n, size = copy_tree(std, opt / "lib" / f"python{ver}", skip=STDLIB_SKIP)
    log(f"python {facts['full']} from {base}: stdlib {n} files, {size / 1e6:.0f} MB")


def stage_site_packages(facts: dict, opt: Path) -> None:
    ver = facts["version"]
    dst = opt / "lib" / f"python{ver}" / "site-packages"
    srcs = [Path(facts["purelib"])]
    if os.path.realpath(facts["platlib"]) != os.path.realpath(facts["purelib"]):
        srcs.append(Path(facts["platlib"]))
    total_n = total_b = 0
    for src in srcs:
        n, b = copy_tree(src, dst, skip=SITE_SKIP)
        total_n += n
        total_b += b
    # A .pth with an absolute path would point into the build machine.
    venv = os.path.realpath(facts["prefix"])
    for pth in dst.glob("*.pth"):
        text = pth.read_text(errors="replace")
        for line in text.splitlines():
            s = line.strip()
            if s and not s.startswith(("#", "import ")) and (os.path.isabs(s) or venv in s):
                raise BuildError(f"{pth.name} adds {s} to sys.path: the package would depend on the build machine.")
    log(f"site-packages: {total_n} files, {total_b / 1e9:.2f} GB")


def stage_app(opt: Path, python: str) -> None:
    app = opt / "app"
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "supervisor_app", "resources", "models",
                              "LICENSE", "README.md"], capture_output=True, text=True)
    files = [f for f in tracked.stdout.split("\0") if f] if tracked.returncode == 0 else []
    if files:
        for rel in files:
            s = REPO / rel
            if not s.is_file() or _skip(rel, APP_SKIP) or "/__pycache__/" in rel:
                continue
            d = app / rel
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    else:  # not a git checkout (a source tarball)
        for name in ("supervisor_app", "resources", "models"):
            copy_tree(REPO / name, app / name, skip=APP_SKIP, link=False)
    # Byte-compile the app (the venv's packages come compiled by pip already).
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(app / "supervisor_app")], check=True)


def write_pth(opt: Path, ver: str) -> None:
    site = opt / "lib" / f"python{ver}" / "site-packages"
    # Relative to site-packages: .../opt/supervisor-app/app (the package is relocatable: dpkg -x anywhere works).
    (site / "supervisor_app.pth").write_text("../../../app\n")
    # CUDA overlay (``supervisor-app-cuda enable``): a CUDA torch installed beside, never over, the package.
    (site / "zz_supervisor_cuda.pth").write_text(
        "import os, sys; d = os.environ.get('SUPERVISOR_CUDA_DIR', '/var/lib/supervisor-app/cuda'); "
        "os.environ.get('SUPERVISOR_CUDA', '1') != '0' and os.path.isfile(os.path.join(d, 'ENABLED')) "
        "and sys.path.insert(0, d)\n")


# ---------------------------------------------------------------------------------------------------
# desktop integration

def render_icons(svg: Path, root: Path, python: str) -> None:
    icons = root / "usr" / "share" / "icons" / "hicolor"
    (icons / "scalable" / "apps").mkdir(parents=True, exist_ok=True)
    shutil.copy2(svg, icons / "scalable" / "apps" / f"{PKG}.svg")
    sizes = [16, 24, 32, 48, 64, 128, 256, 512]
    outs = []
    for s in sizes:
        d = icons / f"{s}x{s}" / "apps"
        d.mkdir(parents=True, exist_ok=True)
        outs.append((s, d / f"{PKG}.png"))
    if shutil.which("rsvg-convert"):
        for s, out in outs:
            subprocess.run(["rsvg-convert", "-w", str(s), "-h", str(s), str(svg), "-o", str(out)], check=True)
        return
    # Qt's SVG renderer from the packaged PySide6 (no extra build dependency).
    code = (
        "import sys, json\n"
        "from PySide6.QtGui import QGuiApplication, QImage, QPainter\n"
        "from PySide6.QtSvg import QSvgRenderer\n"
        "from PySide6.QtCore import Qt\n"
        "app = QGuiApplication([])\n"
        "r = QSvgRenderer(sys.argv[1])\n"
        "assert r.isValid(), 'invalid svg'\n"
        "for s, out in json.loads(sys.argv[2]):\n"
        "    img = QImage(s, s, QImage.Format_ARGB32_Premultiplied); img.fill(Qt.transparent)\n"
        "    p = QPainter(img); p.setRenderHint(QPainter.Antialiasing); r.render(p); p.end()\n"
        "    assert img.save(out), out\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([python, "-c", code, str(svg), json.dumps([(s, str(o)) for s, o in outs])], check=True, env=env)


def stage_desktop(root: Path, opt: Path, version: str, python: str) -> None:
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / f"{PKG}.desktop", share / "applications" / f"{PKG}.desktop")
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    meta = (HERE / f"{PKG}.metainfo.xml").read_text().replace("@VERSION@", version).replace(
        "@DATE@", time.strftime("%Y-%m-%d", time.gmtime(_source_epoch())))
    (share / "metainfo" / f"{PKG}.metainfo.xml").write_text(meta)
    render_icons(REPO / "installer" / "icons" / f"{PKG}.svg", root, python)
    doc = share / "doc" / PKG
    doc.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "copyright", doc / "copyright")
    changelog = (f"{PKG} ({version}) unstable; urgency=medium\n\n  * Built from the repository by "
                 f"installer/build-package.sh.\n\n -- supervisor-app maintainers <maintainers@supervisor-app.invalid>  "
                 f"{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(_source_epoch()))}\n")
    with gzip.GzipFile(doc / "changelog.Debian.gz", "wb", mtime=_source_epoch()) as f:
        f.write(changelog.encode())
    (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    os.symlink(f"../../{PREFIX}/bin/{PKG}", root / "usr" / "bin" / PKG)
    os.symlink(f"../../{PREFIX}/bin/{PKG}-cuda", root / "usr" / "bin" / f"{PKG}-cuda")
    for name in (PKG, f"{PKG}-cuda"):
        shutil.copy2(HERE / name, opt / "bin" / name)
        os.chmod(opt / "bin" / name, 0o755)


def _source_epoch() -> int:
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        return int(env)
    r = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%ct"], capture_output=True, text=True)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip() else int(time.time())


# ---------------------------------------------------------------------------------------------------
# dependencies

def _is_elf(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(root: Path) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink() and (".so" in name or os.access(p, os.X_OK)) and _is_elf(p):
                out.append(p)
    return out


def needed_libs(files: list[Path]) -> dict[Path, list[str]]:
    needed: dict[Path, list[str]] = {}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        r = subprocess.run(["readelf", "-dW", *map(str, chunk)], capture_output=True, text=True)
        cur = chunk[0] if len(chunk) == 1 else None
        for line in r.stdout.splitlines():
            if line.startswith("File: "):
                cur = Path(line[6:].strip())
            elif "(NEEDED)" in line and cur is not None:
                m = re.search(r"\[(.+?)\]", line)
                if m:
                    needed.setdefault(cur, []).append(m.group(1))
    return needed


def system_libs() -> dict[str, str]:
    r = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True)
    libs: dict[str, str] = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m and "64" in m.group(2):
            libs.setdefault(m.group(1), m.group(3))
    return libs


def owning_packages(paths: list[str]) -> dict[str, str]:
    """{library path: Debian package} with one dpkg-query call (merged /usr: try both spellings)."""
    variants: dict[str, str] = {}
    for path in paths:
        for c in (path, os.path.realpath(path)):
            for v in (c, c[4:] if c.startswith("/usr/") else "/usr" + c):
                variants.setdefault(v, path)
    r = subprocess.run(["dpkg-query", "-S", *variants], capture_output=True, text=True)
    owners: dict[str, str] = {}
    for line in r.stdout.splitlines():
        pkgs, sep, found = line.partition(": ")
        if sep and found.strip() in variants and "diversion" not in pkgs:
            owners.setdefault(variants[found.strip()], pkgs.split(",")[0].split(":")[0].strip())
    return owners


def compute_depends(root: Path) -> tuple[list[str], dict]:
    files = elf_files(root)
    inside = {p.name for p in files} | {p.name for p in root.rglob("*.so*") if p.is_symlink()}
    needed = needed_libs(files)
    sys_libs = system_libs()
    wanted: dict[str, list[str]] = {}
    unresolved: dict[str, list[str]] = {}
    for f, libs in needed.items():
        for lib in libs:
            if lib in inside:
                continue
            if lib in sys_libs:
                wanted.setdefault(sys_libs[lib], []).append(str(f.relative_to(root)))
            else:
                unresolved.setdefault(lib, []).append(str(f.relative_to(root)))
    owners = owning_packages(sorted(wanted))
    pkgs = sorted({owners[p] for p in wanted if p in owners})
    not_owned = sorted(p for p in wanted if p not in owners)
    report = {"elf_files": len(files), "system_libraries": sorted(wanted), "packages": pkgs,
              "not_owned_by_a_package": not_owned,
              "unresolved": {k: sorted(v)[:5] for k, v in sorted(unresolved.items())}}
    return pkgs, report


def depends_field(auto: list[str]) -> str:
    glibc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True, text=True).stdout
    glibc_up = re.match(r"[\d.]+", glibc.split(":")[-1])
    out: list[str] = []
    for p in sorted(set(auto) | set(EXPLICIT_DEPENDS)):
        if p == "libc6" and glibc_up:
            out.append(f"libc6 (>= {glibc_up.group(0).rstrip('.')})")
        elif T64.match(p):
            out.append(f"{p} | {p}t64")
        else:
            out.append(p)
    return ", ".join(out)


# ---------------------------------------------------------------------------------------------------
# control files and the archive

def write_control(root: Path, version: str, depends: str, installed_kb: int, python_version: str) -> None:
    deb = root / "DEBIAN"
    deb.mkdir(parents=True, exist_ok=True)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"
    control = f"""Package: {PKG}
Version: {version}
Architecture: {arch}
Maintainer: supervisor-app maintainers <maintainers@supervisor-app.invalid>
Installed-Size: {installed_kb}
Depends: {depends}
Recommends: {", ".join(RECOMMENDS)}
Section: video
Priority: optional
Description: video-to-music recommendation for music supervisors
 Finds music in your catalog for a piece of picture and cuts it to the
 picture: shot and beat analysis, Seg-VM-Net / MuSimNet models, a desktop
 app with a timeline and mockup exports (MP4, WAV, OTIO, FCP XML, EDL).
 .
 Self-contained: ships its own Python {python_version} and libraries under
 /opt/supervisor-app (PyTorch CPU build; see the README for CUDA).
"""
    (deb / "control").write_text(control)
    for script in ("postrm",):
        shutil.copy2(HERE / script, deb / script)
        os.chmod(deb / script, 0o755)


def write_md5sums(root: Path) -> None:
    lines = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (dirpath == str(root) and d == "DEBIAN")]
        for name in files:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            h = hashlib.md5()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            lines.append(f"{h.hexdigest()}  {p.relative_to(root)}\n")
    (root / "DEBIAN" / "md5sums").write_text("".join(sorted(lines, key=lambda s: s[34:])))


def fix_modes(root: Path) -> None:
    """Readable by all (files linked from a venv may be 0600); directories 0755."""
    for dirpath, dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            mode = p.stat().st_mode
            want = mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
            want &= ~(stat.S_IWGRP | stat.S_IWOTH)
            if want != mode:
                # A hard-linked file shares its mode with the venv's: copy before changing it.
                if p.stat().st_nlink > 1:
                    tmp = p.with_name(p.name + ".tmp-copy")
                    shutil.copy2(p, tmp)
                    os.replace(tmp, p)
                os.chmod(p, want)


def build(args) -> Path:
    """Stage, scan, write the control files and the archive; the staging tree is removed afterwards (also on
    failure, unless ``--keep-stage``) and the .deb appears only when complete (written aside, then renamed)."""
    t0 = time.perf_counter()
    venv = Path(args.venv).resolve() if args.venv else REPO / ".venv"
    facts = venv_facts(venv)
    version = args.version or _app_version()
    out_dir = Path(args.out).resolve()
    work = Path(args.work).resolve() if args.work else out_dir / "build"
    for tool in ("patchelf", "dpkg-deb", "readelf"):
        if not shutil.which(tool):
            raise BuildError(f"{tool} is missing: apt-get install patchelf dpkg-dev binutils")
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"
    deb = out_dir / f"{PKG}_{version}_{arch}.deb"
    part = deb.with_name(deb.name + ".part")
    try:
        report = _stage_and_pack(args, facts, venv, version, work, part, t0)
        os.replace(part, deb)
    finally:
        if part.exists():
            part.unlink()
        if not args.keep_stage:
            shutil.rmtree(work, ignore_errors=True)
    (out_dir / f"{PKG}_{version}_{arch}.deps.json").write_text(json.dumps(report, indent=1))
    if report["unresolved"]:
        log(f"note: {len(report['unresolved'])} libraries needed only by optional Qt/Python modules are not on this "
            f"machine (listed in {PKG}_{version}_{arch}.deps.json); the app does not load them")
    log(f"{deb} ({deb.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    return deb


def _stage_and_pack(args, facts: dict, venv: Path, version: str, work: Path, part: Path, t0: float) -> dict:
    root = work / "root"
    if root.exists():
        shutil.rmtree(root)
    opt = root / PREFIX
    opt.mkdir(parents=True)
    stage_python(facts, opt)
    stage_site_packages(facts, opt)
    stage_app(opt, str(venv / "bin" / "python"))
    write_pth(opt, facts["version"])
    stage_desktop(root, opt, version, str(venv / "bin" / "python"))
    (opt / "VERSION").write_text(f"{version}\n")
    fix_modes(root)
    log(f"staged in {time.perf_counter() - t0:.1f} s; scanning ELF dependencies")
    auto, report = compute_depends(root)
    depends = depends_field(auto)
    report["depends"] = depends
    installed_kb = int(subprocess.run(["du", "-sk", "--apparent-size", str(root)], capture_output=True,
                                      text=True, check=True).stdout.split()[0])
    write_control(root, version, depends, installed_kb, facts["full"])
    write_md5sums(root)
    part.parent.mkdir(parents=True, exist_ok=True)
    comp, _, level = args.compress.partition(":")
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{comp}"] + ([f"-z{level}"] if level else []) + ["--build", str(root), str(part)]
    t1 = time.perf_counter()
    log(f"dpkg-deb -Z{comp}{' -z' + level if level else ''} ({installed_kb / 1e6:.2f} GB installed)")
    # No SOURCE_DATE_EPOCH here: dpkg-deb would clamp file times to it, and the shipped .pyc files
    # (which record their source's mtime) would all go stale: Python would recompile on every start.
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    log(f"archive in {time.perf_counter() - t1:.1f} s")
    return report


def _app_version() -> str:
    text = (REPO / "supervisor_app" / "__init__.py").read_text()
    m = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not m:
        raise BuildError("supervisor_app/__init__.py has no __version__.")
    return m.group(1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="installer/build-package.sh", description="Build the .deb of supervisor-app.")
    p.add_argument("--venv", help="environment to package (default: .venv made by installer/install.sh)")
    p.add_argument("--out", default=str(REPO / "dist"), help="folder for the .deb (default: dist/)")
    p.add_argument("--work", help="staging folder (default: OUT/build; removed afterwards)")
    p.add_argument("--version", help="package version (default: supervisor_app.__version__)")
    p.add_argument("--compress", default="zstd:9",
                   help="dpkg-deb compressor[:level]: zstd:9 (default), zstd:19 (smaller, slow), zstd:1 (fast, tests), xz:6, none")
    p.add_argument("--keep-stage", action="store_true", help="keep the staged tree")
    args = p.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("build_deb.py builds the Linux package; see installer/README-packaging.md for macOS/Windows.", file=sys.stderr)
        return 2
    try:
        deb = build(args)
    except BuildError as e:
        print(f"build-package: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"build-package: {Path(str(e.cmd[0])).name} failed (exit {e.returncode}); its messages are above.", file=sys.stderr)
        return 2
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
