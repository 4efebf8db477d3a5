# One entry point for every task. Each target installs what it needs first, so a fresh clone
# only ever needs `make demo` or `make test`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MELTANO_VENV := .venv-meltano
MELTANO := $(MELTANO_VENV)/bin/meltano
MELTANO_STAMP := $(MELTANO_VENV)/.installed
PLUGINS_STAMP := .meltano/.plugins-installed
PYTEST_ARGS ?=

.PHONY: install meltano-install lint typecheck test demo bench chaos nightly docs clean

install: $(STAMP)

$(STAMP): pyproject.toml tap-deel/pyproject.toml target-jumpcloud/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e "./tap-deel[webhooks]" -e ./target-jumpcloud --group dev
	touch $@

# Meltano lives in its own environment: it pins its own dependencies, and it installs each
# plugin into a virtualenv of its own under .meltano/.
meltano-install: $(PLUGINS_STAMP)

$(MELTANO_STAMP):
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(MELTANO_VENV)/bin/python -m pip install --quiet "meltano~=4.4"
	touch $@

$(PLUGINS_STAMP): $(MELTANO_STAMP) meltano.yml tap-deel/pyproject.toml target-jumpcloud/pyproject.toml
	$(MELTANO) install
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy tap-deel/tap_deel target-jumpcloud/target_jumpcloud tests

test: install meltano-install lint typecheck
	PATH="$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

demo: install meltano-install
	PATH="$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" $(PY) -m tests.demo

bench: install
	$(PY) -m tests.bench

chaos: install meltano-install
	PATH="$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" $(PY) -m pytest -m "" tests/reliability tests/webhooks -p no:randomly $(PYTEST_ARGS)

# The nightly full sync, holding the lock the webhook receiver's syncs take, so the two never
# overlap (docs/webhooks.md has the cron line). Settings as for the receiver: DEEL_WEBHOOKS_*.
nightly: install meltano-install
	PATH="$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" $(VENV)/bin/deel-webhooks locked -- meltano run deel-to-jumpcloud

# Paste both plugins' `--about` settings tables into docs/settings.md (a drift test checks them).
docs: install
	$(PY) -m tests.update_docs

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano .pytest_cache .mypy_cache .ruff_cache .hypothesis
