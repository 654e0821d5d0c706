# Outside-In: `make demo` and `make test` create or reuse .venv and install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
BENCH_VENV := .venv-bench-peers
PEER_STAMP := $(BENCH_VENV)/.installed-peers
BASKET_VENV := .venv-bench-basket
BASKET_PEER_STAMP := $(BASKET_VENV)/.installed-peers

.PHONY: demo test bench install chromium lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[spark,postgres,test,dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads its own).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' for the browser tests"; fi; fi

demo: $(STAMP)
	$(BIN)/outsidein --workspace demo-workspace demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

$(PEER_STAMP):
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q 'numpy==1.24.4' 'pandas==1.5.3' 'scipy==1.10.1' 'matplotlib==3.7.5' 'setuptools<82' 'lifetimes==0.11.3' 'pyarrow<15'
	$(BENCH_VENV)/bin/python -m pip install -q 'mabwiser==2.7.4' 'scikit-learn<1.4' 'vowpalwabbit==9.11.9'
	touch $(PEER_STAMP)

# Basket-rule peers (mlxtend 0.25 needs a newer scipy than lifetimes' pins): a venv of their own.
$(BASKET_PEER_STAMP):
	test -x $(BASKET_VENV)/bin/python || $(PY) -m venv $(BASKET_VENV)
	$(BASKET_VENV)/bin/python -m pip install -q 'mlxtend==0.25.0' 'efficient-apriori==2.0.6' 'pyfim==6.28' pyarrow
	touch $(BASKET_PEER_STAMP)

bench: $(STAMP) $(PEER_STAMP) $(BASKET_PEER_STAMP)
	OUTSIDEIN_PEER_PYTHON=$(abspath $(BENCH_VENV))/bin/python OUTSIDEIN_BASKET_PEER_PYTHON=$(abspath $(BASKET_VENV))/bin/python $(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf demo-workspace benchmarks/results/*.json .pytest_cache
