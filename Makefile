# lsts-sync developer commands. `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  := $(PYTHON) tools/stack.py
DEMO_BUCKET ?= lsts-demo
export LS_PORT ?= 8080
export S3_PORT ?= 5000

.PHONY: docs lint stress install stack-install stack-up stack-down stack-status demo stop test test-unit test-prod mutation bench clean browser-install screenshot

# Label Studio flavour of the stack: dev (Django's server, SQLite; the default) or prod (gunicorn over
# PostgreSQL, as Label Studio's Docker image runs it): make stack-up STACK_FLAVOUR=prod
STACK_FLAVOUR ?= $(if $(LSTS_STACK_FLAVOUR),$(LSTS_STACK_FLAVOUR),dev)

# prts: the report tests' reference for range-based precision/recall; its numpy<2 pin is wrong for
# numpy 2 (it runs there) and would break pandas, so it is installed without its dependencies.
install: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps 'prts==1.0.0.3'
	touch $@

# Style, types and the import direction: seconds, no server (CI runs it before the slow stack).
lint: $(BIN)/.lint-installed
	@# the stack and the venv are this machine's, never the project's (a tracked .stack link broke CI once)
	@test -z "$$(git ls-files .stack .venv 2>/dev/null)" || { echo "lint: .stack or .venv is tracked by git: git rm --cached it"; exit 1; }
	$(BIN)/ruff check lsts_sync tests tools bench
	$(BIN)/mypy lsts_sync
	$(BIN)/lint-imports
$(BIN)/.lint-installed: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $@

# The generated parts of the docs (spec and command reference) from the code; tests/test_docs.py fails
# when a committed page differs from what this writes.
docs: install
	$(BIN)/python tools/gen_docs.py

stack-install:
	$(STACK) install --flavour $(STACK_FLAVOUR)

stack-up: stack-install
	$(STACK) up --flavour $(STACK_FLAVOUR)

stack-down:
	$(STACK) down

stack-status:
	$(STACK) status

stop: stack-down

# One apply: the demo's predictions are written after its sync imports their tasks; the plan after it is "No changes.".
demo: install stack-up
	@eval "$$($(STACK) env)" && \
	  $(BIN)/python tools/demo_data.py --upload $(DEMO_BUCKET) && \
	  $(BIN)/lsts-sync apply specs --auto-approve && \
	  $(BIN)/lsts-sync plan specs && \
	  echo && echo "Label Studio: $$LABEL_STUDIO_URL  login: admin@example.com / lsts-sync-local" && \
	  echo "Label the anomaly at: $$($(BIN)/python tools/labeling_page.py url)" && \
	  echo "Stop it with: make stop"

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/lib/chromium/chromium
browser-install:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' (Debian) or set CHROMIUM=/path"; exit 1; fi; }

test: install stack-install browser-install
	LSTS_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

# The integration and browser tests against the prod flavour, on a stack of its own (free ports),
# stopped at the end whatever the result. Not part of make test or CI: it measures against a
# production-like server (several minutes more: PostgreSQL migrations on the first run).
PROD_STACK ?= test-prod
test-prod: install browser-install
	$(STACK) install --flavour prod
	LS_PORT=0 S3_PORT=0 $(STACK) up --name $(PROD_STACK) --flavour prod
	@status=0; LSTS_STACK_NAME=$(PROD_STACK) LSTS_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m integration || status=$$?; \
	  $(STACK) down --name $(PROD_STACK); exit $$status

screenshot: install browser-install
	LSTS_CHROMIUM=$(CHROMIUM) $(BIN)/python tools/labeling_page.py screenshot

test-unit: install
	$(BIN)/python -m pytest -m "not integration"

# Mutation testing of the core modules with the unit suite (figures, not a gate; see tools/mutation.py).
# MUTATION_ARGS="--min-share 0.9" makes it fail under a goal; "--incremental" reuses mutants/.
# Then tools/known_breaks.py: the review's named one-line breaks, each of which the unit suite must
# kill (a gate: it fails on a survivor or a stale entry). Both always run; either failing fails make.
MUTATION_ARGS ?=
mutation: $(BIN)/.mutation-installed
	@status=0; $(BIN)/python tools/mutation.py $(MUTATION_ARGS) || status=$$?; \
	  $(BIN)/python tools/known_breaks.py || status=$$?; exit $$status
$(BIN)/.mutation-installed: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,mutation]'
	touch $@

# Many applies at once against a loaded Label Studio, one resource per spec after each (tools/stress.py):
# minutes, so not part of make test. make stress STRESS_FLAVOUR=prod for gunicorn over PostgreSQL.
STRESS_FLAVOUR ?= dev
STRESS_ARGS ?=
stress: install
	$(STACK) install --flavour $(STRESS_FLAVOUR)
	$(BIN)/python tools/stress.py --flavour $(STRESS_FLAVOUR) $(STRESS_ARGS)

bench: install stack-install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info mutants
