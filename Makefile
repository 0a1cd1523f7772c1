# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# the model check-lab opens: the demo's, of the 30 %-divergent nanoparticle regime
CHECKPOINT ?= report/np_benchmark/np_div0.3_damm.pt
# and the progression model whose explorer check-lab also opens, with a DICOM series of the demo's phantom (data/phantom_mri)
PROGRESSION ?= report/progression/progression_model.pt

# where pip takes torch from: empty = pip's usual index (PyPI unless pip is configured otherwise), whose torch for Linux x86-64 is the CUDA build
# (it runs on a CPU too, but downloads the CUDA libraries) and for macOS and Windows the CPU-only build;
# TORCH_INDEX=https://download.pytorch.org/whl/cpu for a CPU-only build on Linux, .../whl/cu126 (or another CUDA
# version that torch 2.13.0 is built for) for a given CUDA. It applies when .venv is made: `rm -rf .venv` to change it.
TORCH_INDEX ?=

.DEFAULT_GOAL := help
.PHONY: help install demo test test-slow gpu-check docs export format check-site check-lab clean
help:                  ## list the targets (what `make` with no target does)
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: PYTHON=$(PYTHON) VENV=$(VENV) TORCH_INDEX=$(TORCH_INDEX) ARGS=$(ARGS)"

# torch first, pinned, so that the library's unpinned `torch` is already met when the rest installs;
# the brain extra is nilearn, which ships the MNI152 template in its wheel (without it the brain experiment uses a procedural brain)
install: $(VENV)/.installed  ## .venv with torch 2.13.0 (from TORCH_INDEX if set), the library, the dev tools and nilearn (`brain` extra)
$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e '.[dev,brain]'
	touch $@

demo: install          ## generate the default data and run the main job
	$(BIN)/damm_demo $(ARGS)

test: install          ## run every notebook as a test (skips `slow` and `gpu` cells)
	$(BIN)/python .ci/test_nbs.py

test-slow: install     ## also run the `slow` cells
	$(BIN)/python .ci/test_nbs.py --flags slow

gpu-check: install     ## CUDA only: a few training steps at the paper's sizes (ms/step, images/s, peak memory), then the `#| gpu` cells
	$(BIN)/python .ci/gpu_check.py $(ARGS)

docs: install          ## offline documentation site in _docs/ (nbdev_docs needs Quarto)
	$(BIN)/python .ci/build_docs.py

export: install        ## notebooks -> library, then strip notebook metadata
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

format: install        ## ruff format the notebooks, bench/ and .ci/ (ruff.toml), then export and clean
	$(BIN)/ruff format nbs/ bench/ .ci/
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

check-site: docs       ## open every docs page in headless Chromium (needs: apt-get install -y chromium libjs-mathjax; .ci/run installs them)
	$(BIN)/python .ci/check_site.py

check-lab: install     ## the explorers in a real JupyterLab, driven by headless Chromium, on CHECKPOINT and PROGRESSION (run `make demo` first; needs: apt-get install -y chromium)
	$(BIN)/python .ci/check_lab.py --checkpoint $(CHECKPOINT) --progression $(PROGRESSION) $(ARGS)

clean:                 ## remove .venv, _docs, _proc, report, runs, lightning_logs and the generated data (keeps data/README.md)
	rm -rf $(VENV) _docs _proc report runs lightning_logs
	test ! -d data || find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
