#!/usr/bin/env bash
# Train the Rasa NLU model into nlu/models/civicbot-nlu.tar.gz when it is missing or when the training data, the
# config or the custom components changed (hash stamp).
# Usage: nlu/scripts/train.sh [--force | --check]   (--check: exit 0 when the model is up to date, 3 when not)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NLU="$ROOT/nlu"
VENV="${RASA_VENV:-$ROOT/.venv-rasa}"
OUT="${NLU_MODEL_DIR:-$NLU/models}"
MODEL="$OUT/civicbot-nlu.tar.gz"
STAMP="$OUT/civicbot-nlu.sha256"

if [[ ! -x "$VENV/bin/rasa" ]]; then
  echo "train: ERROR: $VENV/bin/rasa not found; run nlu/scripts/setup_venv.sh first" >&2
  exit 1
fi

want="$(cd "$NLU" && cat config.yml data/*.yml rasa_components/*.py ../nlu/requirements-rasa.txt | sha256sum | cut -d' ' -f1)"
fresh=0
[[ -f "$MODEL" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && fresh=1
if [[ "${1:-}" == "--check" ]]; then
  if (( fresh )); then echo "train: $MODEL is up to date"; exit 0; fi
  echo "train: $MODEL is missing or stale"; exit 3
fi
if [[ "${1:-}" != "--force" && -f "$MODEL" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "train: $MODEL is up to date"
  exit 0
fi

mkdir -p "$OUT"
echo "train: training $MODEL (data, config or components changed)"
start=$(date +%s)
cd "$NLU"
export PYTHONPATH="$NLU${PYTHONPATH:+:$PYTHONPATH}" RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
"$VENV/bin/rasa" train nlu --config config.yml --nlu data --out "$OUT" --fixed-model-name civicbot-nlu
[[ -f "$MODEL" ]] || { echo "train: ERROR: rasa did not write $MODEL" >&2; exit 1; }
echo "$want" > "$STAMP"
echo "train: done in $(( $(date +%s) - start )) s -> $MODEL"
