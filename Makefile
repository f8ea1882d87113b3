# Monthly returns pipeline. `make` runs the month over inbox/ into outbox/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WORKSPACE ?= examples/workspace.toml
CAMPAIGN ?=
PERIOD ?=
PERIOD_OPT := $(if $(PERIOD),--period $(PERIOD),)
# The workspace, and one of its campaigns by its code (or a campaign file alone).
WHERE := --workspace $(WORKSPACE) $(if $(CAMPAIGN),--campaign $(CAMPAIGN),)
SEND ?=
SEND_OPT := $(if $(filter 1 yes true,$(SEND)),--send,)
N ?= 2000
REPEAT ?= 3
REGISTERS ?= 200

.DEFAULT_GOAL := run
.PHONY: help run fetch receipts templates mail remind demo test lint format clean bench mutants deep

help:  ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed  ## Run every campaign's open periods (or CAMPAIGN=code PERIOD=...) over inbox/
	$(PY) -m pipeline $(WHERE) run $(PERIOD_OPT)

fetch: $(VENV)/.installed  ## Fetch returns from the mailbox ([imap]) into inbox/
	$(PY) -m pipeline $(WHERE) fetch

receipts: $(VENV)/.installed  ## Reply (回执) to each return of PERIOD that came by mail (dry run; SEND=1 sends)
	$(PY) -m pipeline $(WHERE) receipts $(PERIOD_OPT) $(SEND_OPT)

templates: $(VENV)/.installed  ## Write blank forms of CAMPAIGN=code (PERIOD=...) into form_templates/
	$(PY) -m pipeline $(WHERE) templates $(PERIOD_OPT)

mail: $(VENV)/.installed  ## E-mail each institution its form for PERIOD (dry run; SEND=1 sends)
	$(PY) -m pipeline $(WHERE) mail $(PERIOD_OPT) $(SEND_OPT)

remind: $(VENV)/.installed  ## Remind (催报) who has not reported PERIOD (dry run; SEND=1 sends)
	$(PY) -m pipeline $(WHERE) remind $(PERIOD_OPT) $(SEND_OPT)

demo: $(VENV)/.installed  ## Whole cycle on the shipped example, in demo_workspace/
	$(PY) -m pipeline demo --workspace demo_workspace

test: $(VENV)/.installed  ## Lint, type-check and run the test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy pipeline bench
	$(PY) -m pytest -q

mutants: $(VENV)/.installed  ## Mutation testing of the rules and the grid arithmetic (slow; not in `make test`)
	$(PY) -m pip install --quiet -e '.[test,mutants]'
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(or $(JOBS),2)
	$(VENV)/bin/mutmut results

deep: $(VENV)/.installed  ## The property tests with many more examples (HYPOTHESIS_PROFILE=deep; ~4 min)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q -p no:cacheprovider tests/test_roundtrip_hypothesis.py

bench: $(VENV)/.installed  ## Benchmark: N=2000 returns (N=10000 for a province), REPEAT=3, REGISTERS=200
	$(PY) -m bench --n $(N) --repeat $(REPEAT) --registers $(REGISTERS)

lint:  ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy pipeline bench

format:  ## Apply ruff formatting
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:  ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis demo_workspace mutants
