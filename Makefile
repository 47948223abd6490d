# Olympia — the two commands: `make dataset` and `make test`.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
LS_VENV   := .venv-ls
RELEASE   ?= dist/olympia-demo
WORK      ?= work
export OLYMPIA_LABEL_STUDIO_VENV := $(abspath $(LS_VENV))

.PHONY: help env dataset real-dataset test test-fast bench train evaluate train-gpu real-table labelstudio ffmpeg chromium clean

help:
	@echo "make dataset    set up .venv and build the embedded demo release into $(RELEASE)"
	@echo "make real-dataset  build dist/olympia-real from the real release files in ../shared/realdata"
	@echo "make test       run the whole test suite (sets up .venv and the Label Studio venv)"
	@echo "make bench      benchmarks (throughput and ratios against in-run references)"
	@echo "make train      train LiFT (small CPU config) on $(RELEASE)"
	@echo "make evaluate   evaluate the trained checkpoint on $(RELEASE)"
	@echo "make train-gpu  LiFT paper config (ViLT-B/32, bf16) on a CUDA machine: train + evaluate"
	@echo "make real-table LiFT on the real Fit3D / UI-PRMD / KIMORE data (docs/lift.md, CPU, hours)"

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# ffmpeg binary for the video pipeline (Debian package), installed only where missing.
ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  echo "installing ffmpeg (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq ffmpeg >/dev/null; }

# Headless browser for the viewer tests (tests/test_viewer.py): Debian's chromium and
# chromium-driver, installed only where missing.
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

env: $(VENV)/.installed ffmpeg

# Label Studio server in its own venv: it pins many dependencies of its own.
$(LS_VENV)/.installed: annotations/label-studio.lock
	test -x $(LS_VENV)/bin/python || $(PY) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q --upgrade pip
	$(LS_VENV)/bin/pip install -q -r annotations/label-studio.lock
	touch $@

labelstudio: $(LS_VENV)/.installed

dataset: env
	$(BIN)/olympia build --out $(RELEASE)

# Real sources (Fit3D, UI-PRMD both systems, KIMORE, VisionFit; MM-Fit labels reported):
# pipelines/real.yaml names the paths; a missing one is skipped and named on the card.
real-dataset: env
	$(BIN)/olympia build --recipe pipelines/real.yaml --out dist/olympia-real

test: env labelstudio chromium
	$(BIN)/python -m pytest -q

test-fast: env chromium
	$(BIN)/python -m pytest -q -m "not labelstudio and not slow"

bench: env
	$(BIN)/python benchmarks/run.py

train: env
	$(BIN)/lift train --release $(RELEASE) --config small --out $(WORK)/lift-small

evaluate: env
	$(BIN)/lift evaluate --release $(RELEASE) --checkpoint $(WORK)/lift-small --out $(WORK)/lift-small/eval

# The paper config on one CUDA GPU (ViLT-B/32, Adam 5e-5, batch 32, early stopping 5, bf16
# autocast): train, then evaluate (Table 3 layout, and the rep-diverse counting evaluation), in
# one command. Nothing is downloaded: the pretrained weights come from a local directory, e.g.
#   make train-gpu RELEASE=dist/olympia-real LIFT_PRETRAINED_VILT=models/vilt-b32-mlm
# GPU_PY must be a Python with a CUDA build of torch and the packages of requirements.lock
# (.venv holds the CPU build); GPU_ARGS adds lift train options (e.g. --recut 2-8 --source fit3d).
GPU_PY   ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
GPU_OUT  ?= $(WORK)/vilt-b32
GPU_ARGS ?=
LIFT_GPU  = PYTHONPATH=$(CURDIR):$(CURDIR)/model $(GPU_PY) -m lift.cli
train-gpu:
	$(LIFT_GPU) train --release $(RELEASE) --config vilt-b32 --out $(GPU_OUT) --device cuda \
	    $(if $(LIFT_PRETRAINED_VILT),--pretrained-vilt $(LIFT_PRETRAINED_VILT)) $(GPU_ARGS)
	$(LIFT_GPU) evaluate --release $(RELEASE) --checkpoint $(GPU_OUT) --out $(GPU_OUT)/eval --device cuda --quiet
	$(LIFT_GPU) evaluate --release $(RELEASE) --checkpoint $(GPU_OUT) --out $(GPU_OUT)/eval-recut --recut 2-8 \
	    --device cuda --quiet

# LiFT's real-data rows (docs/lift.md, "On real skeletons"): per-source releases from the raw
# files in REALDATA, the small config on CPU. Takes hours on 2 shared cores.
REALDATA ?= ../shared/realdata
real-table: env
	REALDATA=$(REALDATA) WORK=$(WORK) BIN=$(BIN) bash model/lift/real_table.sh

clean:
	rm -rf $(WORK) dist .pytest_cache
