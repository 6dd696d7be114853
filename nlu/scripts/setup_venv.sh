#!/usr/bin/env bash
# Create the Rasa NLU virtual environment (.venv-rasa, Python 3.10) at the repository root.
# Idempotent: a stamp file holding the hash of nlu/requirements-rasa.txt makes re-runs instant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${RASA_VENV:-$ROOT/.venv-rasa}"
REQ="$ROOT/nlu/requirements-rasa.txt"
STAMP="$VENV/.civicbot-requirements.sha256"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/rasa" ]]; then
  echo "setup_venv: $VENV is up to date ($REQ unchanged)"
  exit 0
fi

PY=""
for cand in /root/.pyenv/versions/3.10.*/bin/python3.10 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3.10; do
  if [[ -x "$cand" ]]; then PY="$cand"; break; fi
done
if [[ -z "$PY" ]] && command -v python3.10 >/dev/null 2>&1; then PY="$(command -v python3.10)"; fi
if [[ -z "$PY" ]]; then
  echo "setup_venv: ERROR: no Python 3.10 found (pyenv 3.10.x or python3.10 on PATH); Rasa 3.6 needs Python < 3.11" >&2
  exit 1
fi
echo "setup_venv: using $PY ($("$PY" --version 2>&1))"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup_venv: creating $VENV"
  "$PY" -m venv "$VENV"
fi
echo "setup_venv: upgrading pip"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
echo "setup_venv: installing $(grep -vE '^\s*(#|$)' "$REQ" | tr '\n' ' ')(this takes several minutes)"
start=$(date +%s)
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
echo "setup_venv: checking the install"
"$VENV/bin/python" -c "import rasa, sudachipy, sudachidict_core; print('rasa', rasa.__version__)"
echo "$want" > "$STAMP"
echo "setup_venv: done in $(( $(date +%s) - start )) s"
