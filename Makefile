# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian's Chromium, for the Swagger UI test (Playwright drives it; it downloads no browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint unit contract fuzz bench bench-scale clean node

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,local-db]'
	touch $(STAMP)

## Only when it is missing; apt-get needs root, or sudo for another user.
$(CHROMIUM):
	@test -z "$(SUDO)" || command -v $(SUDO) >/dev/null || { echo "make test needs Debian's \
	chromium package ($(CHROMIUM)) and can install it only as root or through sudo: run \
	'apt-get install chromium' as root, then make test again"; exit 1; }
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

## Node.js and npm run the generated TypeScript client's test (its packages: npm ci, by the test).
## Debian's nodejs and npm packages are installed when either command is missing.
node:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		echo "Node.js or npm is missing: installing Debian's nodejs and npm"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			nodejs npm; } || \
		{ echo "make test needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }

## Start the service on its embedded local database (data and dev keys under ./data).
run: $(STAMP)
	$(BIN)/twofactor-api serve

## Everything CI checks: lint, types, spec, unit + integration tests, contract tests, and which
## declared responses the tests produced (contract/response_coverage.py).
test: lint unit contract
	$(BIN)/python contract/response_coverage.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m openapi_spec_validator --schema 3.0 openapi.yaml
	$(BIN)/python contract/breaking_changes.py

## Branch coverage, measured in the subprocesses the tests start too, and its threshold
## (fail_under): pyproject.toml [tool.coverage.*]. Two pytest-xdist workers: most tests wait on
## the servers they start, so two processes finish in about two thirds of the time of one.
unit: $(STAMP) $(CHROMIUM) node
	rm -rf .responses-seen
	$(BIN)/pytest -n 2 --cov --cov-report=term

contract: $(STAMP)
	$(BIN)/python contract/run_live.py

## Schemathesis at volume against the live server (README "Fuzzing"): ten minutes or so.
fuzz: $(STAMP)
	$(BIN)/python contract/fuzz.py

## The benchmark (bench/README.md): about five minutes; BENCH_ARGS=--quick for about two.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## The core operation at 1e3, 1e4 and 1e5 principals (bench/README.md, "Scale"): about six minutes.
## (Not $(or ...): make splits a function's arguments at commas, so that kept only 1000.)
PRINCIPALS ?= 1000,10000,100000
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --principals $(PRINCIPALS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
