# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo heldout test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when the declared or pinned dependencies change. The lora extra (peft) is
# installed too: its tests are part of the suite.
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,lora]"
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/fgvad demo

# The unchanged demo preset on the held-out generator (never used to develop it), seeds 0-2, and a summary.
heldout: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/fgvad demo --heldout --seeds 0,1,2

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/fgvad bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
