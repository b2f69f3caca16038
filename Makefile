# RPB-Sim build / test entry points.
#
#   make venv        create or refresh .venv (core + [dev,dask,app] extras, pinned by constraints.txt)
#   make test        fast test suite (not "slow"), 2 xdist workers
#   make run         the comparison report: every scenario, replicated (sim.report)
#   make experiment NAME=x   run the experiment spec configs/experiment/x.yaml
#   make app         the classroom app (Solara, offline) on http://127.0.0.1:8765
#   make bundle      offline installer (wheels + front-end assets) under dist/bundle/
#   make validate    full-size statistical checks + experiments/validate.py + dynamics
#   make dynamics    experiments/dynamics.py: warm-up, stationarity, response curves,
#                    saturation, remedy costs, pilot difference-in-differences
#   make bench       benchmarks/run_benchmarks.py
#   make lock        regenerate constraints.txt in a scratch venv
#   make clean       remove .venv and build/test caches (keeps outputs/, multirun/)
#
# Override the interpreter used to create .venv with PYTHON=/path/to/python3.12.

SHELL := /bin/bash

VENV  := .venv
VPY   := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP_INSTALL := $(VPY) -m pip install -q -c constraints.txt
# Extras installed into .venv: tests import all of them (Dask executor, Solara app, browser tests).
EXTRAS := dev,dask,app

# Import check that the venv (or a candidate interpreter) is Python >= 3.12.
PY_OK := -c 'import sys; assert sys.version_info >= (3, 12)'

# Shell snippet: sets $py to the first candidate that actually RUNS and is
# >= 3.12 (pyenv shims for versions that are not activated exist on PATH but
# fail when run, so checking `command -v` is not enough).  Exits 1 with a
# hint when none is found.
FIND_PYTHON = py=""; \
	for c in $(PYTHON) python3.13 python3.12 python3 \
	         $$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")/versions/3.1[2-9]*/bin/python3 \
	         /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do \
	  if "$$c" $(PY_OK) >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "ERROR: no working Python >= 3.12 interpreter found." >&2; \
	  echo "       Install Python 3.12+, e.g. 'apt-get install python3.12 python3.12-venv'" >&2; \
	  echo "       or 'pyenv install 3.12', or pass PYTHON=/path/to/python3.12." >&2; \
	  exit 1; \
	fi

# If .venv is missing or its interpreter is broken / too old, force a rebuild
# even when the stamp file looks up to date.
ifneq ($(shell $(VPY) $(PY_OK) >/dev/null 2>&1 && echo ok),ok)
VENV_FORCE := FORCE
endif

.DEFAULT_GOAL := help
.PHONY: help venv sysdeps app-assets run experiment app bundle test validate dynamics bench lock clean FORCE

help:
	@sed -n '3,16p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------------------
# Virtual environment
# ---------------------------------------------------------------------------

venv: $(STAMP)

# (Re)install only when pyproject.toml or constraints.txt changed since the
# last successful install, so repeated `make test` does not touch pip.
$(STAMP): pyproject.toml constraints.txt $(VENV_FORCE)
	@if ! $(VPY) $(PY_OK) >/dev/null 2>&1; then \
	  $(FIND_PYTHON); \
	  echo "Creating $(VENV) with $$py ($$("$$py" -c 'import sys; print(sys.version.split()[0])'))"; \
	  rm -rf $(VENV); \
	  "$$py" -m venv $(VENV) && $(VPY) -m pip install -q --upgrade pip; \
	fi
	$(PIP_INSTALL) -e '.[$(EXTRAS)]'
	@touch $@

# ---------------------------------------------------------------------------
# System packages: CJK fonts so matplotlib and the browser render Chinese, and
# Debian's chromium for the app's browser test (never a browser download).
# As root: installed with apt-get.  Otherwise: say what to install and go on.
# ---------------------------------------------------------------------------

CJK_PRESENT := { fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1; }
CHROMIUM_PRESENT := command -v chromium >/dev/null 2>&1
NPM_PRESENT := command -v npm >/dev/null 2>&1

sysdeps:
	@missing=""; \
	$(CJK_PRESENT) || missing="$$missing fonts-noto-cjk"; \
	$(CHROMIUM_PRESENT) || missing="$$missing chromium"; \
	$(NPM_PRESENT) || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing$$missing (Chinese fonts; browser for the app test) ..."; \
	  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; then \
	    rm -f "$${MPLCONFIGDIR:-$$HOME/.cache/matplotlib}"/fontlist-*.json; \
	  else \
	    echo "WARNING: apt-get install$$missing failed; Chinese labels fall back to English and the browser test is skipped." >&2; \
	  fi; \
	else \
	  echo "NOTE: missing system packages:$$missing"; \
	  echo "      Install them with: sudo apt-get install$$missing"; \
	  echo "      (without them Chinese plot labels fall back to English, the app's front-end assets"; \
	  echo "       cannot be installed and the browser test is skipped)"; \
	fi

# The app's front-end assets (Solara's JavaScript bundles, exact versions, from the npm
# registry) in the local cache, so the page never needs a CDN. Idempotent; offline machines
# install them from `make bundle`'s assets/ instead (docs/offline.md).
app-assets: venv sysdeps
	@$(VPY) -m sim.app.assets check -q >/dev/null 2>&1 || $(VPY) -m sim.app.assets install -q || \
	  echo "NOTE: the app's offline assets could not be installed (npm missing or no registry); the browser test will be skipped."

# ---------------------------------------------------------------------------
# Running, testing, validating, benchmarking
# ---------------------------------------------------------------------------

run: venv sysdeps
	$(VPY) -m sim.report

experiment: venv sysdeps
	$(VENV)/bin/rpbsim-experiment $(NAME)

app: app-assets
	$(VPY) -m sim.app

bundle: venv
	$(VPY) tools/bundle.py

test: venv sysdeps app-assets
	$(VPY) -m pytest -n 2 -m "not slow" tests

# Pattern tests with 20 seeds (CI runs them with 5), then the Latin-hypercube validation
# report under docs/validation/.
validate: venv sysdeps
	RPB_PATTERN_SEEDS=20 $(VPY) -m pytest -n 2 -m "pattern or slow" tests
	$(VPY) experiments/validate.py
	$(VPY) experiments/dynamics.py

# Credible-dynamics report under docs/validation/dynamics/ (warm-up, stationarity, response
# curves, saturation, remedies, pilot DiD); about 12-25 minutes on 2 cores.
dynamics: venv sysdeps
	$(VPY) experiments/dynamics.py

bench: venv
	$(VPY) benchmarks/run_benchmarks.py

# ---------------------------------------------------------------------------
# Maintenance
# ---------------------------------------------------------------------------

# Re-resolve core + the extras in a throwaway venv and rewrite constraints.txt.
lock:
	@$(FIND_PYTHON); \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	"$$py" -m venv "$$tmp/v" && "$$tmp/v/bin/python" -m pip install -q --upgrade pip && \
	"$$tmp/v/bin/python" -m pip install -q -e '.[$(EXTRAS)]' && \
	{ echo "# Pinned lock of the full resolved dependency set for rpb-sim core + [$(EXTRAS)] extras."; \
	  echo "# Generated with CPython $$("$$py" -c 'import sys; print(sys.version.split()[0])') in a fresh venv:"; \
	  echo "#   pip install -e '.[$(EXTRAS)]' && pip freeze --exclude-editable   (project itself dropped)"; \
	  echo "# Used as:  pip install -c constraints.txt -e '.[$(EXTRAS)]'"; \
	  echo "# Regenerate after changing dependencies in pyproject.toml (see Makefile: 'make lock')."; \
	  "$$tmp/v/bin/python" -m pip freeze --exclude-editable | grep -vi '^rpb[-_]sim=='; \
	  echo "# Windows-only dependency (of click/tqdm there), pinned for make bundle's win_amd64 wheels"; \
	  echo "colorama==0.4.6"; \
	} > constraints.txt.new && mv constraints.txt.new constraints.txt && echo "constraints.txt updated"

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

FORCE:
