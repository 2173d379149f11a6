# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# quiet: the build backend's notices (setuptools' editable-install banner) are not for users
PIP    := PYTHONWARNINGS=ignore $(PY) -m pip -q --disable-pip-version-check

.PHONY: run test dashboard docs install install-dev clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev,dashboard]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(VENV)/bin/mutualaid run baseline --out results/baseline

test: install-dev
	$(VENV)/bin/pytest -q -n auto --dist loadfile

dashboard: install-dev
	$(VENV)/bin/mutualaid dashboard

# the figures the README, docs/ and scenarios/info/ quote from runs (sim/experiments/docfigures.py); the
# expensive blocks are rerun one at a time: .venv/bin/mutualaid docs --only NAME
docs: install
	$(VENV)/bin/mutualaid docs

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
