# Aqueduct — the same steps CI runs (.ci/run).
#
#   make run    build, migrate the embedded SQLite database, load the demo
#               association and serve on http://127.0.0.1:8080
#   make test   the whole test suite (SQLite always; PostgreSQL too when
#               TEST_DATABASE_URL is set)

SHELL := /bin/bash
CARGO ?= cargo
AQUEDUCT ?= target/debug/aqueduct
STRIPE_SIM ?= target/debug/aqueduct-stripe-sim
LISTEN ?= 127.0.0.1:8080
# The local Stripe `make run` starts unless real keys are configured
# (AQUEDUCT__STRIPE__SECRET_KEY set): see docs/payments.md.
STRIPE_SIM_LISTEN ?= 127.0.0.1:12111

.PHONY: run build test fmt lint check security clean-data run-s3 bench e2e test-stripe-live

build:
	$(CARGO) build -p aqueduct-server --bin aqueduct -p aqueduct-stripe-sim --bin aqueduct-stripe-sim

# Without Stripe keys in the environment, the local Stripe simulator runs
# beside the server (stopped with it) and the demo association is connected
# to it with charges enabled, so the Pay button works with no Stripe account.
run: build
	@mkdir -p data
	$(AQUEDUCT) migrate
	@set -e; \
	export AQUEDUCT__SERVER__PUBLIC_URL=$${AQUEDUCT__SERVER__PUBLIC_URL:-http://$(LISTEN)}; \
	if [ -z "$$AQUEDUCT__STRIPE__SECRET_KEY" ]; then \
	  export AQUEDUCT__STRIPE__SECRET_KEY=sk_test_aqueduct_sim AQUEDUCT__STRIPE__WEBHOOK_SECRET=whsec_aqueduct_sim \
	    AQUEDUCT__STRIPE__API_BASE=http://$(STRIPE_SIM_LISTEN); \
	  $(STRIPE_SIM) --listen $(STRIPE_SIM_LISTEN) --instant-onboarding \
	    --secret-key sk_test_aqueduct_sim --webhook-secret whsec_aqueduct_sim \
	    --webhook-url http://$(LISTEN)/webhooks/stripe & \
	  SIM_PID=$$!; trap 'kill $$SIM_PID 2>/dev/null || true' EXIT; \
	  for i in $$(seq 1 50); do (exec 3<>/dev/tcp/$(subst :,/,$(STRIPE_SIM_LISTEN))) 2>/dev/null && break; sleep 0.1; done; \
	  echo "Local Stripe simulator on $$AQUEDUCT__STRIPE__API_BASE (pid $$SIM_PID; no real money, no Stripe account)"; \
	else \
	  echo "Stripe: using the keys in AQUEDUCT__STRIPE__* (no simulator)"; \
	fi; \
	$(AQUEDUCT) demo; \
	echo; \
	echo "Aqueduct is starting on http://$(LISTEN)/ — the demo association is at http://$(LISTEN)/demo"; \
	echo "Health: http://$(LISTEN)/healthz   Readiness: http://$(LISTEN)/readyz   Stop with Ctrl-C."; \
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
	@$(MAKE) --no-print-directory e2e

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

check: lint test

# The security suite (isolation, identity, payments and retention tests) and
# the supply-chain checks that work offline.
security:
	@command -v cargo-deny >/dev/null 2>&1 || $(CARGO) install cargo-deny --locked
	$(CARGO) deny check licenses bans sources
	$(CARGO) nextest run -p aqueduct-server --no-fail-fast -E 'test(/^(isolation|cross_tenant|identity|identity_ops|api)::/)$(if $(TEST_DATABASE_URL),, and not test(/postgres$$/))'

clean-data:
	rm -rf data

# Local S3-compatible storage for backups (s3s-fs, installed on first use),
# on 127.0.0.1:9000 with bucket aqueduct-backups; see docs/operations.md.
S3_PORT ?= 9000
run-s3:
	@mkdir -p data/s3/aqueduct-backups
	@echo "S3 on http://127.0.0.1:$(S3_PORT) — in another shell:"
	@echo "  export AWS_ENDPOINT_URL=http://127.0.0.1:$(S3_PORT) AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=aqueduct-dev AWS_SECRET_ACCESS_KEY=aqueduct-dev-secret"
	@echo "  export AQUEDUCT__BACKUP__BUCKET=aqueduct-backups AQUEDUCT__BACKUP__FORCE_PATH_STYLE=true AQUEDUCT__BACKUP__KEY=\$$($(AQUEDUCT) backup keygen dev)"
	@echo "  $(AQUEDUCT) backup && $(AQUEDUCT) backup list"
	tests/services/s3.sh start data/s3 $(S3_PORT) aqueduct-dev aqueduct-dev-secret

# Benchmarks (not tests): the bill run (BENCH_ACCOUNTS accounts on
# PostgreSQL — BENCH_DATABASE_URL, default the local server — then on
# SQLite), HTTP, notifications, and last webhook ingestion (BENCH_EVENTS
# signed payment_intent.succeeded events, 10 % delivered twice, on
# PostgreSQL; it fails unless every distinct payment has exactly one ledger
# entry after the queue drains). See docs/benchmarks.md.
# PostgreSQL through its Unix socket when there is one (app and database on
# one machine: sqlx 0.9.0 sends large statements over TCP in several writes
# without TCP_NODELAY, about 40 ms each through TLS), else over TCP.
BENCH_ACCOUNTS ?= 100000
BENCH_DATABASE_URL ?= $(shell test -S /var/run/postgresql/.s.PGSQL.5432 && echo 'postgres://postgres@localhost/postgres?host=/var/run/postgresql' || echo 'postgres://postgres@127.0.0.1:5432/postgres')
bench:
	BENCH_ACCOUNTS=$(BENCH_ACCOUNTS) BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' $(CARGO) run --release -p aqueduct-server --example bench_bill_run
	BENCH_ACCOUNTS=$(BENCH_ACCOUNTS) BENCH_DATABASE_URL=sqlite $(CARGO) run --release -p aqueduct-server --example bench_bill_run
	$(CARGO) build --release -p aqueduct-server --bin aqueduct --example bench_http
	BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' $(CARGO) run --release -p aqueduct-server --example bench_http
	bash tests/services/smtp.sh >/dev/null
	BENCH_MAILS=10000 BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' $(CARGO) run --release -p aqueduct-server --example bench_notify
	BENCH_EVENTS=$${BENCH_EVENTS:-20000} BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' $(CARGO) run --release -p aqueduct-server --example bench_webhooks

# Browser journeys in headless Chromium (tests/e2e/run.sh): skipped with a
# message when chromium or node is missing; E2E_REQUIRED=1 makes that fail.
e2e:
	bash tests/e2e/run.sh

# The payments journeys against Stripe's real test mode (docs/payments.md):
# STRIPE_TEST_SECRET_KEY=sk_test_… make test-stripe-live. Without the key
# it prints why it is skipped and succeeds.
test-stripe-live:
	@if [ -z "$$STRIPE_TEST_SECRET_KEY" ]; then \
	  echo "Stripe live suite skipped: STRIPE_TEST_SECRET_KEY is not set (e.g. STRIPE_TEST_SECRET_KEY=sk_test_... make test-stripe-live)."; \
	else \
	  case "$$STRIPE_TEST_SECRET_KEY" in sk_test_*|rk_test_*) ;; *) echo "STRIPE_TEST_SECRET_KEY must be a test-mode key (sk_test_/rk_test_)"; exit 1;; esac; \
	  $(CARGO) test -p aqueduct-server --test suite -- --nocapture live_stripe_test_mode_journeys; \
	fi
