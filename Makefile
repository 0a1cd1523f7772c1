# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# the model check-lab opens: the demo's, of the 30 %-divergent nanoparticle regime
CHECKPOINT ?= report/np_benchmark/np_div0.3_damm.pt
# and the progression model whose explorer check-lab also opens, with a DICOM series of the demo's phantom (data/phantom_mri)
PROGRESSION ?= report/progression/progression_model.pt

.PHONY: install demo test test-slow docs export check-site check-lab
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

check-lab: install     ## the explorers in a real JupyterLab, driven by headless Chromium, on CHECKPOINT and PROGRESSION (run `make demo` first; needs: apt-get install -y chromium)
	$(BIN)/python .ci/check_lab.py --checkpoint $(CHECKPOINT) --progression $(PROGRESSION) $(ARGS)
