# Two commands: `make run` starts the whole stack, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv run test lint format lock bench clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## Temporal dev server (Web UI :8233, state in var/temporal.db) + worker. Ctrl-C stops all.
run: venv
	@scripts/run-stack

## The suite on both cores: each test file on one worker (module-scoped servers stay shared).
PYTEST_WORKERS ?= 2
test: venv lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Re-resolve requirements.in into exact pins (needs the package registry).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lockenv

## Figures beside their anchors, small defaults (each script takes --help for bigger runs).
bench: venv
	$(BIN)/python bench/history_length.py
	$(BIN)/python bench/sandbox_cost.py
	$(BIN)/python bench/staff_step.py --steps 50
	$(BIN)/python bench/record_write.py --cases 20
	$(BIN)/python bench/intake.py --burst 100
	$(BIN)/python bench/login_flood.py --samples 100 --seconds 15
	$(BIN)/python bench/temporal_down.py --repeat 2
	$(BIN)/python bench/attack.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/case_file.py --repeat 3
	$(BIN)/python bench/scale.py --sizes 10000 --repeat 10
	$(BIN)/python bench/scale_workflows.py
	$(BIN)/python bench/cold_cases.py --cases 20 --enquiries 5

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
