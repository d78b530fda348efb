# Windows: a PyInstaller folder packed by Inno Setup into supervisor-app-<version>-setup.exe. UNTESTED (no
# Windows here). Prerequisites: Python 3.11 (python.org, 64-bit), 64-bit VLC (python-vlc loads libvlc.dll),
# Inno Setup 6 (iscc.exe on PATH). The venv: run the steps of installer/install.sh by hand in
# `py -3.11 -m venv .venv` (torch first, numpy + cython, madmom with --no-build-isolation, then the two
# requirements files) - see the README's "Installing".
#   powershell -ExecutionPolicy Bypass -File installer\windows\build-installer.ps1
$ErrorActionPreference = "Stop"
$root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $root
$py = ".venv\Scripts\python.exe"
if (-not (Test-Path $py)) { throw "No .venv: create it first (README, Installing, Windows)." }
& $py -m pip install -q "pyinstaller==6.22.3" "imageio-ffmpeg==0.8.1"
New-Item -ItemType Directory -Force installer\build | Out-Null
# icon: a multi-size .ico from the SVG with Qt
$env:QT_QPA_PLATFORM = "offscreen"
& $py -c @"
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication([])
img = QImage(256, 256, QImage.Format_ARGB32_Premultiplied); img.fill(Qt.transparent)
p = QPainter(img); QSvgRenderer('installer/icons/supervisor-app.svg').render(p); p.end()
assert img.save('installer/build/supervisor-app.ico')
"@
& $py -m PyInstaller --noconfirm --clean --distpath dist --workpath installer\build\pyinstaller installer\pyinstaller\supervisor-app.spec
$version = & $py -c "import supervisor_app; print(supervisor_app.__version__)"
iscc /DAppVersion=$version installer\windows\supervisor-app.iss
Write-Output "dist\supervisor-app-$version-setup.exe"
