# Two commands a new user runs: `make run` and `make test`. Both create .venv from the project's own
# files when it is missing (pip install -e .[test,lint]). `make lint` runs ruff (configured in pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CARD ?= miniboone_bp_b

.PHONY: setup run test test-fast lint bench clean spectrum cards

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

setup: $(STAMP)

# --overwrite: `make run` twice replaces the previous run of the card (only the files that run wrote)
run: $(STAMP)
	$(BIN)/dsgen run $(CARD) --overwrite

spectrum: $(STAMP)
	$(BIN)/dsgen spectrum bp_b

cards: $(STAMP)
	$(BIN)/dsgen cards

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
