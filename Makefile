# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: run test test-all browser bench bench-quick models models-wide models-refinery forecasts venv clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

## The main job: the base-week study of the reference site (practice, good practice, steamopt, oracle).
run: $(STAMP)
	$(VENV)/bin/steamopt study scenarios/studies/base_week.toml --out $(OUT)/base_week

## The test suite (slow studies excluded; `make test-all` includes them).
test: $(STAMP) browser
	$(PY) -m pytest -q -m "not slow"

## Debian's headless chromium and its driver, for the advisory page's browser tests (installed when absent).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver; \
	  else echo "chromium/chromium-driver missing and no root: the browser tests will be skipped"; fi; }

test-all: $(STAMP)
	$(PY) -m pytest -q

## Bundled surrogates: 90 days of an identification campaign at 15 min with sensor noise, then training; the
## extraction-condensing TG3 has its own campaign (held off in the first, so the other units' data do not change), and so
## have the learned duct burners of GT1 and GT2 (their GT power and duct steam stepped on their own stream).
MODELS_DIR ?= scenarios/models/reference_olefins
models: $(STAMP)
	$(VENV)/bin/steamopt simulate --site scenarios/sites/reference_olefins.toml --policy campaign \
		--hours 2160 --step-min 15 --seed 11 --noise 0.005 --out $(OUT)/training --quiet
	$(VENV)/bin/steamopt simulate --site scenarios/sites/reference_olefins.toml --policy campaign --step-units TG3 \
		--hours 2160 --step-min 15 --seed 11 --noise 0.005 --out $(OUT)/training_TG3 --quiet
	$(VENV)/bin/steamopt simulate --site scenarios/sites/reference_olefins.toml --policy campaign --step-units GT1 GT2 \
		--hours 2160 --step-min 15 --seed 11 --noise 0.005 --out $(OUT)/training_ducts --quiet
	$(VENV)/bin/steamopt surrogate train --site scenarios/sites/reference_olefins.toml \
		--data $(OUT)/training/historian.parquet --unit-data TG3_steam=$(OUT)/training_TG3/historian.parquet \
		--unit-data GT1_duct=$(OUT)/training_ducts/historian.parquet --unit-data GT2_duct=$(OUT)/training_ducts/historian.parquet --out $(MODELS_DIR)

## The second bundled site's surrogates (B1, B2 fuel; GT1 fuel and HRSG; the rest first principles):
## 60 days of an identification campaign at 15 min, 0.5 % sensor noise, seed 11; then training (about 2 min).
REFINERY_MODELS_DIR ?= scenarios/models/refinery_cogen
models-refinery: $(STAMP)
	$(VENV)/bin/steamopt simulate --site scenarios/sites/refinery_cogen.toml --policy campaign \
		--hours 1440 --step-min 15 --seed 11 --noise 0.005 --out $(OUT)/training_refinery --quiet
	$(VENV)/bin/steamopt surrogate train --site scenarios/sites/refinery_cogen.toml \
		--data $(OUT)/training_refinery/historian.parquet --out $(REFINERY_MODELS_DIR)

## Bundled forecasters (header demands, TLE steam, ambient; 24 h ahead hourly): 60 days of the reference
## site's historian under today's practice, the last 7 days held out for the accuracy table.
FORECAST_DIR ?= scenarios/models/reference_olefins_forecast
forecasts: $(STAMP)
	$(VENV)/bin/steamopt simulate --site scenarios/sites/reference_olefins.toml --hours 1440 --step-min 60 \
		--seed 5 --out $(OUT)/forecast_history --quiet
	$(VENV)/bin/steamopt forecast train --site scenarios/sites/reference_olefins.toml \
		--data $(OUT)/forecast_history/historian.parquet --out $(FORECAST_DIR)

## Wide (x-16-16-1) surrogates on the same campaign data, for the OMLT peer baseline of the benchmark suite.
WIDE_MODELS_DIR ?= benchmarks/models/reference_olefins_wide
models-wide: $(STAMP)
	test -f $(OUT)/training/historian.parquet || $(VENV)/bin/steamopt simulate --site scenarios/sites/reference_olefins.toml \
		--policy campaign --hours 2160 --step-min 15 --seed 11 --noise 0.005 --out $(OUT)/training --quiet
	$(PY) -m benchmarks.wide_models --data $(OUT)/training/historian.parquet --out $(WIDE_MODELS_DIR)

## Benchmarks (timings are measured here, never asserted in unit tests).
bench-quick: $(STAMP)
	$(PY) -m pytest -q benchmarks --benchmark-only --benchmark-columns=min,median,max,rounds --benchmark-sort=name
	$(PY) -m benchmarks.supervisor_cycle --cycles 96
	$(PY) -m benchmarks.suite --quick

## The nightly suite: every site size, OMLT baseline, inference, study throughput. Writes
## out/bench/<UTC time>.json and out/bench/latest.md, compares with the previous JSON (if any);
## exits non-zero when the reference p95 exceeds the time budget or a p95 regressed > 20 %.
bench: $(STAMP)
	@mkdir -p $(OUT)/bench
	prev=$$(ls -1t $(OUT)/bench/*.json 2>/dev/null | head -n 1); \
	$(PY) -m benchmarks.suite --json $(OUT)/bench/$$(date -u +%Y%m%dT%H%M%SZ).json --md $(OUT)/bench/latest.md $${prev:+--compare $$prev}

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
