#!/usr/bin/env bash
# macOS: Supervisor.app and a .dmg from the venv of installer/install.sh. UNTESTED (no macOS here).
# Prerequisites: Xcode command line tools, `brew install python@3.11 ffmpeg`, VLC.app in /Applications
# (python-vlc loads its libvlc), then `SUPERVISOR_SKIP_APT=1 installer/install.sh`.
# Steps: icon (.icns from the SVG), PyInstaller (installer/pyinstaller/supervisor-app.spec), dmg (hdiutil).
# "Open with" passes a video through a macOS open-file event, which the app does not handle yet: the
# file must be dropped on the window or opened from File > Open video.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
py=.venv/bin/python
[ -x "$py" ] || SUPERVISOR_SKIP_APT=1 installer/install.sh
"$py" -m pip install -q "pyinstaller==6.22.3" "imageio-ffmpeg==0.8.1"
mkdir -p installer/build/supervisor-app.iconset dist
for s in 16 32 128 256 512; do
  QT_QPA_PLATFORM=offscreen "$py" - "$s" <<'PY'
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication([])
s = int(sys.argv[1])
for scale, suffix in ((1, ""), (2, "@2x")):
    img = QImage(s * scale, s * scale, QImage.Format_ARGB32_Premultiplied); img.fill(Qt.transparent)
    p = QPainter(img); QSvgRenderer("installer/icons/supervisor-app.svg").render(p); p.end()
    img.save(f"installer/build/supervisor-app.iconset/icon_{s}x{s}{suffix}.png")
PY
done
iconutil -c icns installer/build/supervisor-app.iconset -o installer/build/supervisor-app.icns
"$py" -m PyInstaller --noconfirm --clean --distpath dist --workpath installer/build/pyinstaller installer/pyinstaller/supervisor-app.spec
version=$("$py" -c 'import supervisor_app; print(supervisor_app.__version__)')
hdiutil create -volname Supervisor -srcfolder dist/Supervisor.app -ov -format UDZO "dist/Supervisor-$version.dmg"
echo "dist/Supervisor-$version.dmg"
