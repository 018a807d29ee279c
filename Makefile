# Two commands on a fresh machine: `make demo` and `make test`. Both make their own .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEMANTIC := $(VENV)/.semantic
# Front-end tools come from the npm registry, pinned; nothing third-party is kept in the repo.
WEBTOOLS := .webtools
AXE_VERSION := 4.14.1
# The web app serves these itself (src/fairwell/web/assets.py): never from a CDN.
# Pico CSS styles every page; Swagger UI shows the API docs at /api/docs.
PICO_VERSION := 2.1.1
SWAGGER_UI_VERSION := 5.35.0
WEBPINS := axe-core@$(AXE_VERSION) @picocss/pico@$(PICO_VERSION) swagger-ui-dist@$(SWAGGER_UI_VERSION)
WEBSTAMP := $(WEBTOOLS)/.pinned-axe-$(AXE_VERSION)-pico-$(PICO_VERSION)-swagger-ui-$(SWAGGER_UI_VERSION)

.PHONY: demo test lint layers typecheck bench bench-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# The optional semantic extra (torch, ~1.5 GB): the tests need it, the demo does not.
# torch==2.13.0 goes first, alone, so pip takes the CPU build and never resolves a CUDA one.
$(SEMANTIC): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,semantic]'
	touch $(SEMANTIC)

# In a terminal the demo ends by serving the web app with printed sign-ins (Ctrl-C stops it);
# run by a script (no terminal), it only runs and verifies the flow, and exits.
demo: $(STAMP) $(WEBSTAMP)
	@if [ -t 0 ]; then $(BIN)/fairwell demo --dir demo-run --serve; \
	else $(BIN)/fairwell demo --dir demo-run; fi

test: $(STAMP) $(SEMANTIC) lint layers typecheck $(WEBSTAMP)
	$(BIN)/python -m pytest

# Browser tests check every page with axe-core; the app serves Pico CSS and Swagger UI.
# Exact versions from the npm registry. Without npm they say so: the tests skip the
# accessibility checks (and fail in CI, where .ci/run installs Node.js and Chromium), and
# the app falls back to its own stylesheet.
$(WEBSTAMP):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(WEBTOOLS) --no-audit --no-fund --ignore-scripts --silent --save-exact $(WEBPINS) \
		&& touch $@; \
	else echo "npm not found: no accessibility checks, no Pico CSS, no Swagger UI"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

# The layers and seams of DESIGN.md (contracts in pyproject.toml, [tool.importlinter]).
layers: $(STAMP)
	$(BIN)/lint-imports

# Benchmarks are not tests: they print ratios measured in the same run.
bench: $(STAMP)
	$(BIN)/python bench/send.py --n 10000

clean:
	rm -rf $(VENV) $(WEBTOOLS) demo-run .pytest_cache .mypy_cache .ruff_cache .import_linter_cache test-artifacts
