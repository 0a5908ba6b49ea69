# amzn-assets: `make demo` runs the pipeline on a generated sample, `make test` runs the suite.
# Both create .venv on first use. The CLI, `dagster dev` and the tests share these settings:
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export AMZN_DATA_DIR ?= $(CURDIR)/data
export PATH := $(BIN):$(PATH)

DEMO_START := 2018-01-01
DEMO_DAYS := 21
DEMO_END := 2018-01-21
DEMO_MONTH := 2018-01-01
DEMO_REVIEWS := 3000

.PHONY: install install-ml system-deps demo model-demo test ui land summary benchmark clean-data

$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/python || $(PY) -m venv $(VENV) || { \
	  echo "python venv support is missing: installing python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PY) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

# The `ml` extra (TensorFlow CPU, SentencePiece, scikit-learn; ~1.4 GB): the tests need it, the demo not.
$(VENV)/.installed-ml: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test,ml]'
	@touch $@

install-ml: install $(VENV)/.installed-ml

# Resets the data directory's pipeline folders, generates a sample, materializes the daily warehouse
# assets for every sample day in one run, then the analysis assets of its month, and prints what
# landed and the month's top products. (The monthly rating-model assets
# need a year of real reviews: docs/model.md.)
demo: install
	@set -e; start=$$(date +%s); log=$(DAGSTER_HOME)/demo-materialize.log; \
	$(BIN)/amzn-assets reset --yes; \
	$(BIN)/amzn-assets generate --seed 42 --start $(DEMO_START) --days $(DEMO_DAYS) --reviews $(DEMO_REVIEWS); \
	echo "materializing the warehouse assets (groups reviews, climate) for $(DEMO_START)...$(DEMO_END) (log: $$log)"; \
	$(BIN)/dagster asset materialize -m amzn_assets --select 'group:reviews or group:climate' \
	    --partition-range $(DEMO_START)...$(DEMO_END) > $$log 2>&1 || { tail -40 $$log; exit 1; }; \
	echo "materializing the analysis assets (group analysis) for the month $(DEMO_MONTH)"; \
	$(BIN)/dagster asset materialize -m amzn_assets --select 'group:analysis' --partition $(DEMO_MONTH) \
	    >> $$log 2>&1 || { tail -40 $$log; exit 1; }; \
	$(BIN)/amzn-assets summary; \
	echo "demo took $$(( $$(date +%s) - start ))s"

# The rating model on the real All Beauty excerpt, in its own data directory: import with the
# warehouse's days materialized, tokenizer + model + evaluation of 2018-05 (all history up to its end), a report.
MODEL_DEMO_DATA := $(CURDIR)/data/model-demo
model-demo: install-ml
	@set -e; start=$$(date +%s); log=$(DAGSTER_HOME)/model-demo.log; export AMZN_DATA_DIR=$(MODEL_DEMO_DATA); \
	$(BIN)/amzn-assets reset --yes; \
	echo "importing the excerpt and materializing its 883 days, then the 2018-05 model (log: $$log)"; \
	{ $(BIN)/amzn-assets import amzn_assets_tests/fixtures/All_Beauty_5.json.gz --category all_beauty --materialize \
	  && $(BIN)/dagster asset materialize -m amzn_assets --select rating_tokenizer,rating_model,rating_model_evaluation \
	       --partition 2018-05; } > $$log 2>&1 || { tail -40 $$log; exit 1; }; \
	$(BIN)/amzn-assets evaluation --model 2018-05; \
	$(BIN)/amzn-assets predict --model 2018-05 "Fell apart after one wash, terrible quality." "Love it, my skin is so soft."; \
	echo "model demo took $$(( $$(date +%s) - start ))s (data: $(MODEL_DEMO_DATA))"

# Debian packages some tests need: redis-server (the Celery test's broker) and chromium (the browser
# test). Installed with apt when running as root (as CI does); otherwise those tests skip, with a hint.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing with apt:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not installed:$$missing (sudo apt-get install -y$$missing); their tests will skip"; fi; \
	fi

test: install-ml system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

ui: install
	$(BIN)/dagster dev -w workspace.yaml

land: install
	$(BIN)/amzn-assets land

summary: install
	$(BIN)/amzn-assets summary

benchmark: install
	$(BIN)/python benchmarks/landing_throughput.py

clean-data: install
	$(BIN)/amzn-assets reset --yes
