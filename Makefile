# idcpilot: every target sets itself up. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)

.PHONY: venv host-deps demo demo-lab bundle test test-fast lint bench lock clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

# Bytecode for the package and the rules, as pip writes it for any installed package (an
# editable install has none, and with PYTHONDONTWRITEBYTECODE set every run would recompile
# ~250 modules: 14 % of a 1,000-manifest \`idcpilot check\`). Up-to-date files are skipped;
# Python checks each .pyc against its source, so an edited file is never run stale.
venv: $(STAMP)
	$(BIN)/python -m compileall -q modules policy > /dev/null

# The whole product on the example estate: validate, plan, gate, evidence report in out/.
demo: venv
	$(BIN)/idcpilot validate inventories/example
	$(BIN)/idcpilot plan inventories/example --out out/manifests
	$(BIN)/idcpilot check inventories/example --manifests out/manifests
	$(BIN)/idcpilot report inventories/example --manifests out/manifests --out out

# The same on real lab hosts (root): the offline bundle, lab up, deploy, verify, report with verify
# results, a second deploy that must change nothing (exit 3 if it changed a host), lab down.
# Verify and the report run even when a host failed to deploy (the report shows it); the lab
# always comes down; the exit code is the first failure's.
demo-lab: venv host-deps
	@[ "$$(id -u)" = 0 ] || { echo "make demo-lab needs root (systemd-nspawn, bridges)" >&2; exit 2; }
	@status=0; failed() { s=$$?; [ $$status != 0 ] || status=$$s; }; set -x; mkdir -p out/lab; \
	$(BIN)/idcpilot bundle build inventories/lab || failed; \
	if [ $$status = 0 ]; then $(BIN)/idcpilot lab up inventories/lab || failed; fi; \
	if [ $$status = 0 ]; then \
	  $(BIN)/idcpilot deploy inventories/lab || failed; \
	  $(BIN)/idcpilot verify inventories/lab --format json > out/lab/verify.json || failed; \
	  if [ -s out/lab/verify.json ]; then $(BIN)/idcpilot report inventories/lab --verify out/lab/verify.json --out out/lab || failed; fi; \
	  $(BIN)/idcpilot deploy inventories/lab --detailed-exitcode --format json > out/lab/deploy-again.json || failed; \
	fi; \
	$(BIN)/idcpilot lab down inventories/lab || failed; \
	exit $$status

# The offline bundle the lab serves (Kubernetes, etcd, crictl, kwok built from their Go modules;
# root: it goes to /var/cache/idcpilot/bundle), and the Pulumi engine the stacks run with (the CLI,
# the Python language host, the kubernetes provider plugin; into the same cache, under pulumi/;
# docs/pulumi.md). Cached: a second run builds nothing.
bundle: venv
	$(BIN)/idcpilot bundle build inventories/lab
	$(BIN)/idcpilot bundle pulumi

host-deps:
	@if [ "$$(id -u)" = 0 ]; then scripts/install-host-deps.sh; else echo "not root: skipping host packages"; fi

# The offline bundle first (as root; cached: nothing is built a second time), so that the tests of
# the Pulumi engine run rather than skip. Then two runs: the tests that need no lab on both cores
# (pytest-xdist), then the lab tests one after another (they share one lab; `make demo-lab`
# first). Every part always runs; the exit code is the first failure's.
test: venv host-deps
	@status=0; \
	if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory bundle || status=$$?; fi; \
	$(BIN)/python -m pytest -m "not lab" -n 2 || { s=$$?; [ $$status != 0 ] || status=$$s; }; \
	$(BIN)/python -m pytest -m lab || { s=$$?; [ $$status != 0 ] || status=$$s; }; \
	exit $$status

test-fast: venv
	$(BIN)/python -m pytest -m "not lab and not slow"

# Every role and playbook against ansible-lint's production profile (the tests run it per role too).
lint: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --profile production --offline --nocolor roles/ playbooks/

bench: venv
	$(BIN)/python bench/run.py

# Re-resolve the pins after editing requirements.in.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^idcpilot' > requirements.txt && rm -rf .lockenv

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
