#!/usr/bin/env bash
# Creates .venv with Python 3.10 (rasa 3.6 refuses 3.11+) and installs the
# pinned dependencies. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

is_py310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if is_py310 "$candidate"; then echo "$candidate"; return 0; fi
  done
  # pyenv: the shim only answers when 3.10 is selected, so look at the versions.
  local root
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidate in "$root"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ] && is_py310 "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

if [ -x .venv/bin/python ] && ! is_py310 .venv/bin/python; then
  echo "setup: .venv is not Python 3.10; recreating it." >&2
  rm -rf .venv
fi

if [ ! -x .venv/bin/python ]; then
  if ! python="$(find_python)"; then
    cat >&2 <<'MSG'
setup: Python 3.10 was not found. Rasa 3.6 needs exactly Python 3.10.
Install it (for example `pyenv install 3.10` or your system's python3.10 package),
or point PYTHON310 at its interpreter: PYTHON310=/path/to/python3.10 make run
MSG
    exit 1
  fi
  echo "setup: creating .venv with $python"
  "$python" -m venv .venv
fi

echo "setup: installing pinned dependencies (the first time takes about 2 minutes)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r requirements.txt -c constraints.txt
