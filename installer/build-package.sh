#!/usr/bin/env bash
# One command for the desktop package of this platform:
#   Linux   -> dist/supervisor-app_<version>_<arch>.deb   (installer/linux/build_deb.py; tested)
#   macOS   -> dist/Supervisor.app + .dmg                 (installer/macos/build-app.sh; UNTESTED)
#   Windows -> run installer\windows\build-installer.ps1 in PowerShell (UNTESTED)
#
#   usage: installer/build-package.sh [--venv DIR] [--out DIR] [--version V] [--compress zstd:9|zstd:19|zstd:1|xz:6|none] [--keep-stage]
#
# The package is made from the environment that installer/install.sh builds (run first unless --venv is
# given); nothing is downloaded beyond what install.sh fetches. See installer/PACKAGING.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[build-package] %s\n' "$*" >&2; }

case "$(uname -s)" in
  Linux)
    venv_given=""
    for a in "$@"; do [ "$a" = "--venv" ] || [[ "$a" == --venv=* ]] && venv_given=1; done
    [ -n "$venv_given" ] || "$root/installer/install.sh"
    # build tools (Debian/Ubuntu): patchelf for the bundled interpreter's library path, readelf/dpkg-deb
    need=()
    command -v patchelf >/dev/null || need+=(patchelf)
    command -v readelf >/dev/null || need+=(binutils)
    command -v dpkg-deb >/dev/null || need+=(dpkg)
    if [ ${#need[@]} -gt 0 ]; then
      command -v apt-get >/dev/null || { log "missing: ${need[*]} (install them with your package manager)"; exit 2; }
      sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
      log "apt-get install ${need[*]}"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    py=python3; [ -x "$root/.venv/bin/python" ] && py="$root/.venv/bin/python"
    exec "$py" "$root/installer/linux/build_deb.py" "$@" ;;
  Darwin)
    exec "$root/installer/macos/build-app.sh" "$@" ;;
  MINGW*|MSYS*|CYGWIN*)
    log "on Windows run: powershell -ExecutionPolicy Bypass -File installer\\windows\\build-installer.ps1 (untested)"
    exit 2 ;;
  *) log "no package recipe for $(uname -s)"; exit 2 ;;
esac
