#!/usr/bin/env bash
# Installs everything (idempotent) and runs the main job on the embedded demo.
set -euo pipefail
cd "$(dirname "$0")"
installer/install.sh
exec .venv/bin/supervisor-app demo "$@"
