# The two set-up commands of README: `make demo` and `make test`. Both create .venv when it is
# missing and install the pinned stack from requirements/constraints.txt first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo python3.10)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
PYTEST_ARGS ?=

.PHONY: demo test install clean

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' 2>/dev/null \
	  || { echo "LT4REC needs Python 3.10 (pyenv reads .python-version; or PYTHON=/path/to/python3.10)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.py pyproject.toml requirements/constraints.txt requirements/base.txt requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==24.2
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/constraints.txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/lt4rec simulate --out $(DEMO_DIR)/logs --days 4 --rows-per-day 20000 --seed 7
	$(BIN)/lt4rec validate --data $(DEMO_DIR)/logs --report-dir $(DEMO_DIR)/validation
	$(BIN)/lt4rec train --data $(DEMO_DIR)/logs --variant sparse_weight --out $(DEMO_DIR)/sparse_weight
	$(BIN)/lt4rec pipeline run --data $(DEMO_DIR)/logs --root $(DEMO_DIR)/tfx --days 2
	@echo
	@echo "Outputs:"
	@echo "  traffic logs        $(DEMO_DIR)/logs/YYYY-MM-DD/impressions.csv"
	@echo "  ground truth        $(DEMO_DIR)/logs/_ground_truth/YYYY-MM-DD.csv"
	@echo "  simulation summary  $(DEMO_DIR)/logs/_simulation.json"
	@echo "  validation report   $(DEMO_DIR)/validation/report.json (+ quarantine.csv, statistics.pbtxt)"
	@echo "  training metrics    $(DEMO_DIR)/sparse_weight/metrics.json"
	@echo "  pruning / masks     $(DEMO_DIR)/sparse_weight/pruning_curves.png, mask_overlap.png"
	@echo "  SavedModels         $(DEMO_DIR)/sparse_weight/export/{pctr,pcvr,combined}/"
	@echo "  TFX artifacts       $(DEMO_DIR)/tfx/pipeline/ (ML Metadata: $(DEMO_DIR)/tfx/metadata.db)"
	@echo "  pushed models       $(DEMO_DIR)/tfx/serving/pctr/<version>/, $(DEMO_DIR)/tfx/serving/pcvr/<version>/"
	@ls -d $(DEMO_DIR)/tfx/serving/*/* 2>/dev/null | sed 's/^/                      /' || true

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache *.egg-info
