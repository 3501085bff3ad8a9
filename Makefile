# My ScanSource support assistant. `make run` and `make test` do all setup.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA    := $(VENV)/bin/rasa
MODEL   := models/assistant.tar.gz
STAMP   := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | cksum | cut -d' ' -f1)
# Everything the model is trained from: a change retrains, nothing else does.
TRAIN_INPUTS := config.yml domain.yml $(shell find data nlu_components -name '*.yml' -o -name '*.py' | sort)
# Load .env (created from .env.example) and make the project importable.
WITH_ENV := set -a && . ./.env && set +a && export PYTHONPATH=$(CURDIR) RASA_TELEMETRY_ENABLED=false \
	TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore::DeprecationWarning &&

# Floors checked by `make test` on the held-out NLU set (targets in the README).
MIN_F1         ?= 0.92
MIN_OOS_RECALL ?= 0.85

.PHONY: help setup train run test test-unit test-conversations test-nlu validate bench clean

help:
	@echo "make run    - set up, train if needed, start the assistant on 127.0.0.1:5005"
	@echo "make test   - set up, train if needed, run every check"
	@echo "make bench  - print NLU, latency, throughput, memory and startup figures"
	@echo "make clean  - remove models, results and var/ (keeps .venv)"

$(STAMP): requirements.txt constraints.txt scripts/setup_venv.sh
	scripts/setup_venv.sh
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) .env
	@scripts/setup_web.sh

.env:
	cp .env.example .env

$(MODEL): $(TRAIN_INPUTS) | $(STAMP) .env
	$(WITH_ENV) $(RASA) train --fixed-model-name assistant --out models
	touch $@

train: $(MODEL)

run: setup $(MODEL)
	$(WITH_ENV) $(PY) -m portal demo-data
	$(WITH_ENV) $(PY) -m devtools.stack

validate: setup
	$(WITH_ENV) $(RASA) data validate --fail-on-warnings

test-unit: setup $(MODEL)
	@scripts/ensure_chromium.sh
	$(WITH_ENV) $(PY) -m pytest -q tests

test-conversations: setup $(MODEL)
	$(WITH_ENV) $(RASA) test core --model $(MODEL) --stories tests \
		--fail-on-prediction-errors --out results/conversations

test-nlu: setup $(MODEL)
	$(WITH_ENV) $(PY) bench/nlu_eval.py --model $(MODEL) --json results/holdout.json \
		--min-f1 $(MIN_F1) --min-oos-recall $(MIN_OOS_RECALL)

test: validate test-unit test-conversations test-nlu
	@echo "make test: all checks passed"

bench: setup $(MODEL)
	$(WITH_ENV) $(PY) bench/run_all.py
	$(WITH_ENV) $(PY) bench/lookups.py

clean:
	rm -rf models/*.tar.gz results var
