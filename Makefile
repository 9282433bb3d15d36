# Brokerdesk: `make demo` runs the product, `make test` runs the whole suite.
# Both bootstrap a virtual environment from pyproject.toml + constraints.txt first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml setup.py constraints.txt | cksum | cut -d' ' -f1)
# Parallel test workers: one per core.
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help bootstrap chromium demo test test-fast lint format lock messages bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

bootstrap: $(STAMP) ## Create .venv and install the project with its pinned dependencies

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip setuptools wheel
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: bootstrap ## Run the product: services, two demo brokers, web on 127.0.0.1:8000
	$(BIN)/brokerdesk demo

test: bootstrap chromium ## Run the whole suite in parallel (starts its own services when needed)
	$(BIN)/brokerdesk test -n $(TEST_WORKERS) --dist loadfile

chromium: ## Install Debian's Chromium for the browser tests when it is missing (needs root)
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test-fast: bootstrap ## The suite without the slow process-level tests
	$(BIN)/brokerdesk test -n $(TEST_WORKERS) --dist loadfile -m 'not slow'

lint: bootstrap ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: bootstrap ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: bootstrap ## Update the German and Arabic catalogs (themes/locale) and compile them
	DATABASE_URL=postgresql://unused/unused REDIS_URL=redis://unused:6379/0 $(BIN)/brokerdesk \
		makemessages -l de -l ar --no-location --no-obsolete \
		--ignore=tests --ignore=bench --ignore=infra --ignore=docs --ignore=test-artifacts --ignore=build
	for po in themes/locale/*/LC_MESSAGES/django.po; do msgfmt --check-format -o "$${po%.po}.mo" "$$po"; done

lock: bootstrap ## Re-pin constraints.txt from the current environment
	$(BIN)/pip freeze --exclude-editable | grep -vi '^brokerdesk' > constraints.txt

bench: bootstrap ## Run the benchmarks (see docs/benchmarks.md)
	$(BIN)/python bench/provisioning.py
	$(BIN)/python bench/migrate_many.py

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) .data
