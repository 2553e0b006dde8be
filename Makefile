# Two commands do all set-up on a fresh machine (Python 3.11 and make):
#   make demo   -> .venv with the pinned packages, Jupyter kernel, both built-in runs into runs/
#   make test   -> same set-up, then ruff and pytest (the full suite, what .ci/run runs)
#   make check  -> ruff and the fast tests (pytest -m "not slow", under 2 minutes on 2 cores): the edit loop
# pytest runs on one pytest-xdist worker per core; a file's tests stay on one worker (--dist loadfile).
# Re-running is fast: the environment is rebuilt only when pyproject.toml or constraints.txt change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lab install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "subgroups needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name subgroups --display-name "Python (subgroups)" >/dev/null
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/subgroups batch params/demo.yaml params/actg175.yaml -o runs --workers 2
	@echo "Reports: runs/demo/index.html and runs/actg175/index.html (overview: runs/index.html)"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=25

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not slow"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf runs .pytest_cache .ruff_cache
