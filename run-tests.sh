#!/usr/bin/env bash
# Installs everything (idempotent) and runs the whole test suite, headless.
set -euo pipefail
cd "$(dirname "$0")"
installer/install.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
exec .venv/bin/python -m pytest "$@"
