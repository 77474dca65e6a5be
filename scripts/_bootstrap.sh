# Sourced by scripts/serve and scripts/test: a project-local virtualenv installed from the hashed
# lock requirements/test.txt (then the project itself, without its dependencies), reinstalled when
# the lock or pyproject.toml changes. Needs only Python 3.11+ on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CREDITLINES_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "creditlines needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
LOCK="$ROOT/requirements/test.txt"
STAMP="$VENV/.creditlines-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv in $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "installing creditlines and its dependencies into $VENV (from requirements/test.txt)" >&2
  # Every package, pip and setuptools included, comes from the lock and must match its hashes;
  # the project is then built with the locked setuptools, with no other download.
  "$VENV/bin/python" -m pip install --quiet --require-hashes --only-binary=:all: -r "$LOCK" >&2
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" >&2
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
