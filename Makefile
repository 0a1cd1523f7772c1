# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test test-slow docs export check-site
install: $(VENV)/.installed
$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0   # CPU wheel first, so nothing pulls a CUDA build
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: install          ## generate the default data and run the main job
	$(BIN)/damm_demo $(ARGS)

test: install          ## run every notebook as a test (skips `slow` and `gpu` cells)
	$(BIN)/python .ci/test_nbs.py

test-slow: install     ## also run the `slow` cells
	$(BIN)/python .ci/test_nbs.py --flags slow

docs: install          ## offline documentation site in _docs/ (nbdev_docs needs Quarto)
	$(BIN)/python .ci/build_docs.py

export: install        ## notebooks -> library, then strip notebook metadata
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

check-site: docs       ## open every docs page in headless Chromium (needs: apt-get install -y chromium libjs-mathjax; .ci/run installs them)
	$(BIN)/python .ci/check_site.py
