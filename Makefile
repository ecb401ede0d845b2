# The two set-up commands of README: `make demo` and `make test`. Both create .venv when it is
# missing and install the pinned stack from requirements/constraints.txt first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo python3.10)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
PYTEST_ARGS ?=

.PHONY: demo serve-demo test install clean

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
	@# Exit status 3 (a day's model not blessed; the run says why) is an outcome, not a failure.
	$(BIN)/lt4rec pipeline run --data $(DEMO_DIR)/logs --root $(DEMO_DIR)/tfx --days 2 \
	  --keep-versions 5 --keep-days 7 || test $$? -eq 3
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
	@versions=$$(ls -d $(DEMO_DIR)/tfx/serving/p*/[0-9]* 2>/dev/null); \
	if [ -n "$$versions" ]; then \
	  echo "  pushed models       $(DEMO_DIR)/tfx/serving/pctr/<version>/, $(DEMO_DIR)/tfx/serving/pcvr/<version>/"; \
	  echo "$$versions" | sed 's/^/                      /'; \
	else echo "  pushed models       none (no day was blessed; see the reasons above)"; fi
	@echo "  TF Serving files    $(DEMO_DIR)/tfx/serving/models.config, batching_parameters.txt;"
	@echo "                      <version>/assets.extra/tf_serving_warmup_requests"
	@echo "  serving log         $(DEMO_DIR)/serve.log"
	@$(MAKE) --no-print-directory serve-demo

# Serve the pushed models (lt4rec serve, any free port), wait until it listens, rank the sample
# request over gRPC, then stop the server with SIGTERM (graceful); the trap stops it on failure
# too, so no server is left behind.
serve-demo: $(STAMP)
	@echo
	@echo "Serving $(DEMO_DIR)/tfx/serving and ranking serving/examples/rank_request.json over gRPC"
	@set -e; log=$(DEMO_DIR)/serve.log; \
	$(BIN)/lt4rec serve --models $(DEMO_DIR)/tfx/serving --port 0 --host 127.0.0.1 >$$log 2>&1 & \
	pid=$$!; trap 'kill -TERM $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 300); do \
	  grep -q "listening on" $$log && break; \
	  kill -0 $$pid 2>/dev/null || { echo "lt4rec serve exited:"; cat $$log; exit 1; }; \
	  sleep 1; \
	done; \
	grep -q "listening on" $$log || { echo "lt4rec serve not listening after 300 s"; exit 1; }; \
	grep "listening on" $$log; \
	port=$$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\):.*/\1/p' $$log | head -1); \
	$(BIN)/lt4rec rank --target 127.0.0.1:$$port --request serving/examples/rank_request.json

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache *.egg-info
