#!/usr/bin/env bash
# A working virtual environment at $DLPLAY_VENV (default .venv), made with Python 3.11 or newer:
# one that is missing, half-made (a failed `python3 -m venv` leaves bin/python without pip) or made
# with another Python is made again. Called by setup.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DLPLAY_VENV:-.venv}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"

if [ -z "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
  echo "setup: dlplay needs Python 3.11 or newer; found ${PY:+$("$PY" --version 2>&1)}${PY:-no python3}." >&2
  echo "setup: on Debian 12: sudo apt-get install python3 python3-venv; or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "setup: $("$PY" --version 2>&1) has no venv module; on Debian: sudo apt-get install python3-venv" >&2
  exit 1
fi

version() { "$1" -c 'import sys; print(*sys.version_info[:2])' 2>/dev/null; }
usable() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1 &&
    [ "$(version "$VENV/bin/python")" = "$(version "$PY")" ]
}
if ! usable; then
  if [ -e "$VENV" ]; then
    echo "setup: $VENV is unusable (no pip, a missing interpreter, or another Python): making it again"
    rm -rf "$VENV"
  fi
  "$PY" -m venv "$VENV"
fi
