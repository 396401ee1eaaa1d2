# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install clean

$(BIN)/hedgeflow: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(BIN)/hedgeflow

run: install  ## the main job, offline: analyse AAPL and NVDA with the whole committee
	$(BIN)/hedgeflow analyze --tickers AAPL,NVDA

test: lint  ## types and lint, then the whole test suite; starts PostgreSQL and Redis if they are installed but stopped
	$(BIN)/python -m tests.services
	$(BIN)/pytest -q -p no:cacheprovider

lint: install  ## ruff check, then mypy --strict (both configured in pyproject.toml); stops at the first that fails
	@$(BIN)/ruff check --quiet --output-format concise . \
		|| { echo "make lint: ruff check failed: fix the lines above ('ruff check --fix' fixes the ones marked [*])" >&2; exit 1; }
	@$(BIN)/mypy --no-error-summary \
		|| { echo "make lint: mypy --strict failed: fix the lines above" >&2; exit 1; }

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache

.PHONY: deploy
deploy: install  ## against PREFECT_API_URL: the hedgeflow-process pool, the block types, the deployments in prefect.yaml
	$(BIN)/python -m deployments.deploy

.PHONY: bench
bench: install  ## the A/B benchmark against the fake servers (python -m bench.run --help for options)
	$(BIN)/python -m bench.run
