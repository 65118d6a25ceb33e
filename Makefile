# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench lint clean docs

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cchc_xl demo

READERS := tests/readers/node_modules/.package-lock.json

# exceljs for tests/test_reader_exceljs.py (skipped there when node is absent)
$(READERS): tests/readers/package.json tests/readers/package-lock.json
	if command -v npm >/dev/null 2>&1; then cd tests/readers && npm ci --no-audit --no-fund; fi

test: $(STAMP) $(READERS)
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) tests/bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check cchc_xl tests

clean:
	rm -rf $(VENV) generated/*

docs: $(STAMP)
	$(PY) -m cchc_xl.docgen
