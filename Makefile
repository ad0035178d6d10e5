# Aqueduct — the same steps CI runs (.ci/run).
#
#   make run    build, migrate the embedded SQLite database, load the demo
#               association and serve on http://127.0.0.1:8080
#   make test   the whole test suite (SQLite always; PostgreSQL too when
#               TEST_DATABASE_URL is set)

SHELL := /bin/bash
CARGO ?= cargo
AQUEDUCT := target/debug/aqueduct
LISTEN ?= 127.0.0.1:8080

.PHONY: run build test test-sqlite fmt lint check clean-data bench

build:
	$(CARGO) build --bin aqueduct

run: build
	@mkdir -p data
	$(AQUEDUCT) migrate
	AQUEDUCT__SERVER__PUBLIC_URL=$${AQUEDUCT__SERVER__PUBLIC_URL:-http://$(LISTEN)} $(AQUEDUCT) demo
	@echo
	@echo "Aqueduct is starting on http://$(LISTEN)/ — the demo association is at http://$(LISTEN)/demo"
	@echo "Health: http://$(LISTEN)/healthz   Readiness: http://$(LISTEN)/readyz   Stop with Ctrl-C."
	$(AQUEDUCT) serve --with-worker --listen $(LISTEN)

# nextest when installed (one process per test), cargo test otherwise.
# PostgreSQL variants are named *postgres and are filtered out, with a
# message, when TEST_DATABASE_URL is not set.
test:
	@if [ -z "$$TEST_DATABASE_URL" ]; then \
	  echo "PostgreSQL tests skipped: TEST_DATABASE_URL is not set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make test)."; \
	  if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --workspace --no-fail-fast -E 'not test(/postgres$$/)'; \
	  else \
	    $(CARGO) test --workspace --no-fail-fast -- --skip postgres; \
	  fi; \
	else \
	  echo "PostgreSQL tests run against $${TEST_DATABASE_URL%%@*}@… (a fresh database per test)."; \
	  if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --workspace --no-fail-fast; \
	  else \
	    $(CARGO) test --workspace --no-fail-fast; \
	  fi; \
	fi

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

check: lint test

clean-data:
	rm -rf data

# Bill-run benchmark (not a test): BENCH_ACCOUNTS accounts on PostgreSQL
# (BENCH_DATABASE_URL, default the local server), then on SQLite. See
# docs/benchmarks.md.
BENCH_ACCOUNTS ?= 100000
bench:
	BENCH_ACCOUNTS=$(BENCH_ACCOUNTS) $(CARGO) run --release -p aqueduct-server --example bench_bill_run
	BENCH_ACCOUNTS=$(BENCH_ACCOUNTS) BENCH_DATABASE_URL=sqlite $(CARGO) run --release -p aqueduct-server --example bench_bill_run
