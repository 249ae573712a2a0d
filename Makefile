# Two commands that work on a fresh clone:
#   make demo   set up .venv, run the embedded synthetic benchmark into runs/, write its board to
#               runs/boards/synthetic.md and its site to runs/boards/site/ (both untracked: the demo never
#               modifies a tracked file; tests/test_first_run.py checks every output path of this recipe)
#   make test   set up .venv and run the tests
# The committed boards (leaderboards/) change only by an explicit `make leaderboards` (from runs/).
# torch is installed first from TORCH_SPEC so that pip never pulls a CUDA build you did not ask for:
# on a machine without a GPU give a CPU wheel, e.g.
#   make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
DEMO_LIMIT ?= 20
# Where the demo writes its runs and its board and site: untracked folders (.gitignore lists runs/).
DEMO_RUNS ?= runs
DEMO_BOARDS ?= $(DEMO_RUNS)/boards
# Worker processes per demo run (`run --jobs`; default: every core). Each process computes with one
# thread (OMP_NUM_THREADS=1) so that N workers fill N cores without oversubscribing them; the rows
# are those of a serial run with the same setting.
DEMO_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# large-kernel is left out of the demo: its solver takes 15-40 s per 256x320 image here (run it with
# `make demo DEMO_METHODS=large-kernel` or `mattebench run --method large-kernel --dataset synthetic`).
DEMO_METHODS ?= closed-form knn learning-based random-walk shared-sampling trimap-midpoint
# MODNet and MODNet (trimap) run from the checkpoints shipped in the package (mattebench/weights/CARD.md), each
# at the input rule it carries; give a path to use your own. DEMO_CHECKPOINTS: the method=checkpoint runs
# after DEMO_METHODS, one per shipped checkpoint (tests/test_shipped_checkpoint.py checks that none is missing).
MODNET_CKPT ?= mattebench:modnet-synthetic
MODNET_TRIMAP_CKPT ?= mattebench:modnet-trimap-synthetic
DEMO_CHECKPOINTS ?= modnet=$(MODNET_CKPT) modnet-trimap=$(MODNET_TRIMAP_CKPT)
BIN := $(VENV)/bin
STAMP := $(VENV)/.mattebench-installed

.PHONY: install install-test demo leaderboards figures test test-slow test-numerics train-modnet train-modnet-trimap clean-runs real-leaderboard

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[dev,ray]"
	touch $(STAMP)

# The tests also cover the exported-model runners and the ONNX export (the optional extras onnx,
# onnxruntime and ai-edge-litert): `make test` installs them, `make demo` does not need them.
TEST_STAMP := $(VENV)/.mattebench-test-extras
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,ray,export,onnx,tflite]"
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

demo: install
	@echo "mattebench demo: $(words $(DEMO_METHODS) $(DEMO_CHECKPOINTS)) methods on the first $(DEMO_LIMIT) of the 100 synthetic test images (DEMO_LIMIT=100 for all), $(DEMO_JOBS) worker processes each (DEMO_JOBS=1: serial)"
	@for m in $(DEMO_METHODS); do \
		$(DEMO_ENV) $(BIN)/mattebench run --method $$m --dataset synthetic --limit $(DEMO_LIMIT) --jobs $(DEMO_JOBS) --out $(DEMO_RUNS) --quiet || exit $$?; \
	done
	@for mc in $(DEMO_CHECKPOINTS); do \
		$(DEMO_ENV) $(BIN)/mattebench run --method $${mc%%=*} --dataset synthetic --checkpoint $${mc#*=} --limit $(DEMO_LIMIT) --jobs $(DEMO_JOBS) --out $(DEMO_RUNS) --quiet || exit $$?; \
	done
	$(BIN)/mattebench leaderboard --runs $(DEMO_RUNS) --out $(DEMO_BOARDS) --html --print
	@echo "mattebench demo: board $(DEMO_BOARDS)/synthetic.md, site $(DEMO_BOARDS)/site/index.html (the committed leaderboards/ are unchanged; \`make leaderboards\` refreshes them from $(DEMO_RUNS))"

# `make leaderboards`: refresh the committed boards and site (leaderboards/) from the runs in runs/ (the only
# target that writes them; the demo writes its own to runs/boards/).
leaderboards: install
	$(BIN)/mattebench leaderboard --runs $(DEMO_RUNS) --out leaderboards --html

# `make figures`: the visual comparison leaderboards/figures/synthetic-comparison.png (shown by the site that
# `make leaderboards` writes). Figures read only the predictions runs stored with --save-alphas (16-bit PNGs in <run>/alphas/),
# never re-run a method, so the demo's methods run again here with their alphas stored: every id of the first
# DEMO_LIMIT images by default (the figure picks the 3 where the methods disagree most), or FIGURE_IDS=id,id
# for those only (the figure then shows them). Their own runs folder: --save-alphas rounds each prediction to
# 16 bits before scoring (so its rows are not the demo's) and scores in one process (no --jobs).
FIGURE_RUNS ?= runs-figures
FIGURE_IDS ?= all
FIGURE_DIR ?= leaderboards/figures
FIGURE_SAMPLES = $(if $(filter-out all,$(FIGURE_IDS)),--figure-samples $(FIGURE_IDS))
figures: install
	@for m in $(DEMO_METHODS); do \
		$(DEMO_ENV) $(BIN)/mattebench run --method $$m --dataset synthetic --limit $(DEMO_LIMIT) --out $(FIGURE_RUNS) \
			--save-alphas $(FIGURE_IDS) --quiet || exit $$?; \
	done
	@for mc in $(DEMO_CHECKPOINTS); do \
		$(DEMO_ENV) $(BIN)/mattebench run --method $${mc%%=*} --dataset synthetic --checkpoint $${mc#*=} --limit $(DEMO_LIMIT) \
			--out $(FIGURE_RUNS) --save-alphas $(FIGURE_IDS) --quiet || exit $$?; \
	done
	$(BIN)/mattebench leaderboard --runs $(FIGURE_RUNS) --out $(FIGURE_RUNS)/boards --figures $(FIGURE_DIR) $(FIGURE_SAMPLES)

# `make test`: the suite without the tests marked slow (heavy-network training smokes), a few minutes
# on 2 cores. `make test-slow` runs those; CI runs both.
test: install-test
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install-test
	$(BIN)/python -m pytest -q -m slow

# `make test-numerics`: the numerical tests (metrics, MODNet, its pinned outputs, exported models) again on other
# kernels and thread counts than the machine's own: torch's generic kernels (ATEN_CPU_CAPABILITY=default), oneDNN's
# SSE4.1 ones, numpy without its AVX2/AVX-512 paths, each with 1 and with 2 threads. A test that passes only on the
# CPU or the thread count it was written on fails here, not on a user's machine. CI runs it after `make test`.
NUMERIC_TESTS ?= tests/test_metrics.py tests/test_metrics_fast_paths.py tests/test_metrics_video.py \
	tests/test_metrics_whole_exact.py tests/test_conventions.py tests/test_reference_floor.py \
	tests/test_modnet_pinned_outputs.py tests/test_modnet.py tests/test_ofd.py tests/test_exported_models.py
GENERIC_KERNELS := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
test-numerics: install-test
	@for t in 1 2; do \
		echo "numerical tests on generic kernels, $$t thread(s)"; \
		$(GENERIC_KERNELS) OMP_NUM_THREADS=$$t MKL_NUM_THREADS=$$t OPENBLAS_NUM_THREADS=$$t \
			$(BIN)/python -m pytest -q -m "not slow" $(NUMERIC_TESTS) || exit $$?; \
	done

# The shipped MODNet (mattebench/weights/CARD.md): synthetic portraits (augmented) mixed with real photos
# labelled by the MediaPipe selfie segmenter (the first 20 ppm100-dev photos by sorted id, never their
# mattes, and scikit-image's), 192 px crops, batch 8, Adam, cosine. Four phases, as it was trained on a shared
# 2-core machine (phases 1 and 2 were cut short when it slowed down; phase 3 gives the photos 3/4 of each
# batch, phase 4 0.6); then packed as float16 with its input rule.
SHARED ?= ../shared
TEACHER_MIX = --method modnet --dataset teacher-mix -d photos=$(SHARED)/realdata/ppm100-dev/PPM-100/image -d take=first:20 \
	-d teacher=$(SHARED)/models/selfie_segmentation.tflite --size 192 --batch 8 --optimizer adam --schedule cosine --threads 1 --quiet
TM := runs/train/modnet-teacher-mix
train-modnet: install
	$(BIN)/mattebench train $(TEACHER_MIX) -d synthetic_fraction=0.5 --steps 800 --lr 5e-4 --save-every 100 --stop-after 100 --out $(TM)
	$(BIN)/mattebench train $(TEACHER_MIX) -d synthetic_fraction=0.5 -d seed=1 --seed 1 --checkpoint $(TM)/last.ckpt \
		--steps 300 --lr 4.8e-4 --save-every 50 --stop-after 150 --out $(TM)-2
	$(BIN)/mattebench train $(TEACHER_MIX) -d synthetic_fraction=0.25 -d seed=2 --seed 2 --checkpoint $(TM)-2/last.ckpt \
		--steps 260 --lr 3e-4 --save-every 50 --out $(TM)-3
	$(BIN)/mattebench train $(TEACHER_MIX) -d synthetic_fraction=0.4 -d seed=3 --seed 3 --checkpoint $(TM)-3/final.ckpt \
		--steps 240 --lr 2e-4 --save-every 40 --out $(TM)-4
	$(BIN)/python -m mattebench_baselines.modnet.method --from $(TM)-4/final.ckpt --name modnet-synthetic --ref-size 192 \
		--train-dir $(TM) --train-dir $(TM)-2 --train-dir $(TM)-3 --train-dir $(TM)-4 --weights-dir checkpoints/shipped

# The shipped MODNet (trimap) (mattebench/weights/CARD.md): the trimap as a 4th input channel (Tables 1-2's
# "MODNet (trimap)", e-ASPP), trained on the embedded synthetic training stream alone (its trimaps come from the
# true alpha; no teacher), 160 px crops, batch 8, Adam, cosine per phase, one thread; then packed as float16 with
# its input rule: ref_size 256, the synthetic images' own size, so that the trimap is not coarsened.
TRIMAP_TRAIN = --method modnet-trimap --dataset synthetic --size 160 --batch 8 --optimizer adam --schedule cosine \
	--threads 1 --log-every 10 --save-every 50 --quiet
TT := runs/train/modnet-trimap-synthetic
train-modnet-trimap: install
	OMP_NUM_THREADS=1 $(BIN)/mattebench train $(TRIMAP_TRAIN) --steps 1000 --lr 5e-4 --out $(TT)
	OMP_NUM_THREADS=1 $(BIN)/mattebench train $(TRIMAP_TRAIN) -d seed=1 --seed 1 --checkpoint $(TT)/final.ckpt \
		--steps 850 --lr 3e-4 --out $(TT)-2
	$(BIN)/python -m mattebench_baselines.modnet.method --from $(TT)-2/final.ckpt --name modnet-trimap-synthetic --method modnet-trimap \
		--ref-size 256 --train-dir $(TT) --train-dir $(TT)-2 --weights-dir checkpoints/shipped

clean-runs:
	rm -rf runs $(FIGURE_RUNS)

# The real leaderboard (leaderboards/real/): real photographs and real pretrained models, none of them committed.
# REALDATA holds ppm100-dev/ (41 of PPM-100's 100 pairs, downscaled to 1024 px) and alphamatting-lowres/;
# REALMODELS the segmentation exports (see ../shared/models/README.md). One thread per run: CPU is shared.
# Classical solvers run on alphamatting (official Trimap1); on the 1024 px portraits they would take
# over 10 minutes each here, so PPM-100 gets only trimap-midpoint among the trimap-based rows.
REALDATA ?= ../shared/realdata
REALMODELS ?= ../shared/models
REAL_RUNS ?= runs-real
REAL_CLASSICAL ?= closed-form
REAL_RUN = OMP_NUM_THREADS=1 $(BIN)/mattebench run --out $(REAL_RUNS) --quiet
OK_OR_FAILED_ROWS = || test $$? -eq 3
real-leaderboard: install
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method tflite --name mediapipe-selfie \
		-m model=$(REALMODELS)/selfie_segmentation.tflite -m preset=mediapipe-selfie -m threads=1 $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method onnx --name sinet \
		-m model=$(REALMODELS)/SINet_Softmax.onnx -m preset=sinet-softmax -m threads=1 $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method onnx --name prisma-portrait \
		-m model=$(REALMODELS)/prisma_nchw.onnx -m preset=prisma-portrait -m threads=1 $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method onnx --name deeplab-portrait \
		-m model=$(REALMODELS)/deeplab_nchw.onnx -m preset=deeplab-portrait -m threads=1 $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method trimap-midpoint $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset ppm100 --data-root $(REALDATA)/ppm100-dev --method modnet --checkpoint $(MODNET_CKPT) $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset alphamatting --data-root $(REALDATA)/alphamatting-lowres --method modnet --checkpoint $(MODNET_CKPT) $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset alphamatting --data-root $(REALDATA)/alphamatting-lowres --method modnet-trimap --checkpoint $(MODNET_TRIMAP_CKPT) $(OK_OR_FAILED_ROWS)
	$(REAL_RUN) --dataset alphamatting --data-root $(REALDATA)/alphamatting-lowres --method trimap-midpoint $(OK_OR_FAILED_ROWS)
	@for m in $(REAL_CLASSICAL); do \
		$(REAL_RUN) --dataset alphamatting --data-root $(REALDATA)/alphamatting-lowres --method $$m || test $$? -eq 3 || exit $$?; \
	done
	$(BIN)/mattebench leaderboard --runs $(REAL_RUNS) --out leaderboards/real --html
