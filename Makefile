# civicbot — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint nlu rasa-venv bench clean system-deps screenshots

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[test]'
	# ja-ginza ships the word vectors the FAQ ranker reads directly; --no-deps: it pins SudachiPy < 0.7 (faq/vectors.py)
	$(BIN)/pip install -q --no-deps ja-ginza==5.3.0
	@touch $(STAMP)

venv: $(STAMP)

# The Rasa NLU server lives in its own Python 3.10 venv (.venv-rasa); see nlu/README.md.
rasa-venv:
	@if [ -x nlu/scripts/setup_venv.sh ] || [ -f nlu/scripts/setup_venv.sh ]; then bash nlu/scripts/setup_venv.sh; fi

nlu: rasa-venv
	@if [ -f nlu/scripts/train.sh ]; then bash nlu/scripts/train.sh --force; fi

demo: venv rasa-venv
	@if [ -f nlu/scripts/train.sh ]; then bash nlu/scripts/train.sh; fi
	$(BIN)/civicbot demo

# Layers (import-linter, contracts in pyproject.toml), ruff lint + format, mypy on the core and the composition root.
lint: venv
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian packages the tests need (installed as root, otherwise named and the run fails: nothing skips silently).
system-deps:
	bash scripts/system-deps.sh

# The whole set-up: Debian packages, the venv, the Rasa venv and model, then lint and every test. Skips are listed
# with their reasons (-rs) and, with CIVICBOT_STRICT_SKIPS=1 (set here), count as failures.
test: venv system-deps lint
	bash nlu/scripts/setup_venv.sh || bash nlu/scripts/setup_venv.sh
	bash nlu/scripts/train.sh || bash nlu/scripts/train.sh
	CIVICBOT_STRICT_SKIPS=1 $(BIN)/python -m pytest -q -rsx -p no:cacheprovider

test-fast: venv
	$(BIN)/python -m pytest -q -m "not browser and not rasa and not slow"

# Refresh the README's pictures (docs/images): the browser tests that take them, told to write there. `make test`
# never does (they go to tests/e2e/artifacts), so a test run leaves the tree clean.
screenshots: venv
	CIVICBOT_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_disaster_browser.py

bench: venv
	$(BIN)/python bench/webhook.py

clean:
	-$(BIN)/python -c "from bot.redis_server import stop_pidfile_server; stop_pidfile_server('var/redis')" 2>/dev/null
	rm -rf var .pytest_cache
