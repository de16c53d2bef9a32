# Sourced by the scripts beside it: create .venv (Python 3.11) if needed and install Baton into it.
# Usage: install_baton [EXTRAS], e.g. install_baton '[dev]'
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
install_baton() {
  local python=${PYTHON:-python3.11}
  command -v "$python" >/dev/null || python=python3
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".$1"
}
