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
# The exact versions every install resolves to (docs/development.md, "Dependencies and the
# constraints file"): `make constraints` writes both from the pyprojects.
CONSTRAINTS := constraints/project.txt
MELTANO_CONSTRAINTS := constraints/meltano.txt
# Extra arguments of `uv pip compile`: `make constraints CONSTRAINTS_ARGS=--upgrade` moves every
# pin to the newest version the pyprojects allow (by default the pins already there are kept).
CONSTRAINTS_ARGS ?=
COMPILE := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 \
	--custom-compile-command "make constraints" $(CONSTRAINTS_ARGS)

.PHONY: install meltano-install constraints lint typecheck test demo bench chaos nightly docs clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"

$(STAMP): pyproject.toml tap-deel/pyproject.toml target-jumpcloud/pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) \
		-e "./tap-deel[webhooks]" -e ./target-jumpcloud --group dev
	touch $@

# Both constraints files, from both plugins (with the webhooks extra) and the `dev` group, and
# from the `meltano` group. The compiler (the `lock` group) is installed alone first, so this
# works even when the old pins no longer fit the pyprojects. Commit the result.
constraints: | $(PY)
	$(PY) -m pip install --quiet --group lock
	$(COMPILE) tap-deel/pyproject.toml target-jumpcloud/pyproject.toml --extra webhooks \
		--group pyproject.toml:dev -o $(CONSTRAINTS)
	$(COMPILE) --group pyproject.toml:meltano -o $(MELTANO_CONSTRAINTS)

# Meltano lives in its own environment: it pins its own dependencies, and it installs each
# plugin into a virtualenv of its own under .meltano/ (this project's three plugins with
# constraints/project.txt, through their pip_url in meltano.yml).
meltano-install: $(PLUGINS_STAMP)

$(MELTANO_STAMP): pyproject.toml $(MELTANO_CONSTRAINTS)
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(MELTANO_VENV)/bin/python -m pip install --quiet -c $(MELTANO_CONSTRAINTS) --group meltano
	touch $@

$(PLUGINS_STAMP): $(MELTANO_STAMP) meltano.yml tap-deel/pyproject.toml \
		target-jumpcloud/pyproject.toml $(CONSTRAINTS)
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
