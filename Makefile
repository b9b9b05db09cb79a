# Everything a fresh clone needs: `make demo` and `make test` create .venv and install what they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test fuzz bench compare-parsers clean

$(STAMP): requirements-dev.txt setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

# A long fuzz session of every reader (the default test run tries a few dozen cases per test).
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	VECLOAD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_fuzz.py tests/test_fuzz_store.py tests/test_split.py

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# vecload's text parser against pandas, pyarrow and polars (speed, peak RSS, exactness, threads, fork), in a
# venv of its own so that those libraries never reach .venv. Needs bench-out/text-*.txt (see the script).
PARSERS_VENV := .venv-parsers
PARSERS_STAMP := $(PARSERS_VENV)/.installed-stamp
$(PARSERS_STAMP): requirements-dev.txt setup.cfg pyproject.toml
	test -x $(PARSERS_VENV)/bin/python || $(PYTHON) -m venv $(PARSERS_VENV)
	$(PARSERS_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt pandas pyarrow polars
	$(PARSERS_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(PARSERS_STAMP)

compare-parsers: $(PARSERS_STAMP)
	$(PARSERS_VENV)/bin/python scripts/compare_parsers.py $(COMPARE_ARGS)

clean:
	rm -rf $(VENV) $(PARSERS_VENV) demo-out bench-out .pytest_cache .hypothesis *.egg-info
