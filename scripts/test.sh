#!/usr/bin/env bash
# Install Baton with its test extra into .venv and run the test suite (unit + end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
install_baton '[dev,spark]'
.venv/bin/baton parse >/dev/null
exec .venv/bin/python -m pytest --durations=25 "$@"
