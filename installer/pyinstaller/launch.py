"""Entry point of the PyInstaller bundles (macOS .app, Windows installer). UNTESTED: no macOS/Windows here.

Started from Finder / the Start menu with no arguments it opens the desktop app (``supervisor-app gui``);
with arguments it is the command line. When no ``ffmpeg`` is on PATH it offers the one bundled by
imageio-ffmpeg under the name ``ffmpeg`` (``supervisor_app.edit.render`` looks it up by that name).
"""
import os
import shutil
import sys


def _bundled_ffmpeg_on_path() -> None:
    if shutil.which("ffmpeg"):
        return
    try:
        import imageio_ffmpeg
    except ImportError:
        return
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    from supervisor_app.infra.paths import cache_dir

    bin_dir = cache_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    name = "ffmpeg.exe" if sys.platform == "win32" else "ffmpeg"
    target = bin_dir / name
    if not target.exists():
        try:
            os.symlink(exe, target)
        except OSError:  # Windows without the symlink privilege
            shutil.copy2(exe, target)
    os.environ["PATH"] = str(bin_dir) + os.pathsep + os.environ.get("PATH", "")


def main() -> int:
    if len(sys.argv) == 1 or (sys.platform == "darwin" and sys.argv[1].startswith("-psn_")):
        sys.argv[1:] = ["gui"]
    _bundled_ffmpeg_on_path()
    from supervisor_app.cli.main import entry

    return entry()


if __name__ == "__main__":
    sys.exit(main())
