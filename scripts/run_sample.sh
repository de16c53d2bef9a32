#!/usr/bin/env bash
# Install Baton into .venv and run the nightly job once on the shipped sample export (seeds/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
install_baton ''
exec .venv/bin/baton run "$@"
