# Two commands that work on a fresh clone:
#   make demo   set up .venv, run the embedded synthetic benchmark, write leaderboards/synthetic.md
#   make test   set up .venv and run the tests
# torch is installed first from TORCH_SPEC so that pip never pulls a CUDA build you did not ask for:
# on a machine without a GPU give a CPU wheel, e.g.
#   make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
DEMO_LIMIT ?= 20
DEMO_METHODS ?= closed-form knn large-kernel learning-based random-walk shared-sampling trimap-midpoint
BIN := $(VENV)/bin
STAMP := $(VENV)/.mattebench-installed

.PHONY: install demo test clean-runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[dev,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	@echo "mattebench demo: $(words $(DEMO_METHODS)) methods on the first $(DEMO_LIMIT) of the 100 synthetic test images (DEMO_LIMIT=100 for all)"
	@for m in $(DEMO_METHODS); do \
		$(BIN)/mattebench run --method $$m --dataset synthetic --limit $(DEMO_LIMIT) --quiet || exit $$?; \
	done
	@if [ -f checkpoints/modnet-synthetic.ckpt ]; then \
		$(BIN)/mattebench run --method modnet --dataset synthetic --checkpoint checkpoints/modnet-synthetic.ckpt --limit $(DEMO_LIMIT) --quiet; fi
	$(BIN)/mattebench leaderboard --runs runs --out leaderboards --html --print

test: install
	$(BIN)/python -m pytest -q

clean-runs:
	rm -rf runs
