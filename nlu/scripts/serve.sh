#!/usr/bin/env bash
# Serve the NLU model over HTTP on 127.0.0.1:PORT (POST /model/parse). Trains first when the model is missing or
# stale. No credentials or endpoints: the bot only calls /model/parse. Usage: nlu/scripts/serve.sh [PORT]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NLU="$ROOT/nlu"
VENV="${RASA_VENV:-$ROOT/.venv-rasa}"
PORT="${1:-5005}"
OUT="${NLU_MODEL_DIR:-$NLU/models}"
MODEL="$OUT/civicbot-nlu.tar.gz"

"$NLU/scripts/train.sh"
cd "$NLU"
export PYTHONPATH="$NLU${PYTHONPATH:+:$PYTHONPATH}" RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
echo "serve: rasa run --enable-api on 127.0.0.1:$PORT with $MODEL"
exec "$VENV/bin/rasa" run --enable-api -i 127.0.0.1 -p "$PORT" -m "$MODEL" --log-file "$OUT/rasa.log"
