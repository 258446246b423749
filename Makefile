# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The ADTRACK_* settings hold under `make run` as under `adtrack serve`: the data directory
# and the geo databases come from them when set, with the defaults of app/settings.py.
DATA_DIR ?= $(or $(ADTRACK_DATA_DIR),var)
GEOIP := $(DATA_DIR)/geoip/GeoLite2-City.mmdb
TEST_GEOIP := .cache/geoip/GeoLite2-City.mmdb
ISP_DB := $(DATA_DIR)/geoip/ip2region.db
TEST_ISP_DB := .cache/geoip/ip2region.db
# A database named by ADTRACK_GEOIP_DB / ADTRACK_ISP_DB is the operator's: used, never fetched.
GEO_FETCH := $(if $(ADTRACK_GEOIP_DB),,$(GEOIP)) $(if $(ADTRACK_ISP_DB),,$(ISP_DB))

.PHONY: run test install geoip test-setup lint format bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(GEOIP): | $(STAMP)
	$(BIN)/adtrack geoip fetch --only city --dest $(DATA_DIR)/geoip

$(TEST_GEOIP): | $(STAMP)
	$(BIN)/adtrack geoip fetch --only city --dest .cache/geoip

$(ISP_DB): | $(STAMP)
	$(BIN)/python -m app.geo fetch-isp --dest $(DATA_DIR)/geoip

$(TEST_ISP_DB): | $(STAMP)
	$(BIN)/python -m app.geo fetch-isp --dest .cache/geoip

geoip: $(GEO_FETCH)

## run: set up, migrate and serve on the embedded engine (ADTRACK_* settings apply)
run: install geoip
	ADTRACK_DATA_DIR=$(DATA_DIR) $(BIN)/adtrack migrate
	ADTRACK_DATA_DIR=$(DATA_DIR) $(BIN)/adtrack serve

test-setup: install $(TEST_GEOIP) $(TEST_ISP_DB)
	bash scripts/install-chromium.sh

## test: the whole suite (lint included)
test: test-setup lint
	$(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check app tests loadtest

format: install
	$(BIN)/ruff format app tests loadtest

demo: install geoip
	ADTRACK_DATA_DIR=$(DATA_DIR) $(BIN)/adtrack demo

bench: install
	bash loadtest/setup.sh
	$(BIN)/python loadtest/bench_hits.py
	$(BIN)/python loadtest/bench_loader.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
