# idcpilot: every target sets itself up. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)

.PHONY: venv host-deps demo test test-fast lint bench lock clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

demo: venv
	$(BIN)/idcpilot validate inventories/example

host-deps:
	@if [ "$$(id -u)" = 0 ]; then scripts/install-host-deps.sh; else echo "not root: skipping host packages"; fi

test: venv host-deps
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not lab and not slow"

bench: venv
	$(BIN)/python bench/run.py

# Re-resolve the pins after editing requirements.in.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^idcpilot' > requirements.txt && rm -rf .lockenv

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
