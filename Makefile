# pgtenant: the two commands are `make run` and `make test` (see README.md). Neither needs DATABASE_URL.
GO      ?= go
PGBIN   ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin))
# The version `make build` stamps into the binary (pgtenant version, pgtenant_build_info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: run test postgres test-deps build vet fuzz stop bench

## run: start (or reuse) the private PostgreSQL under .pgtenant/, apply the migrations, serve. It installs only
## the PostgreSQL server binaries, when they are missing.
run: postgres
	$(GO) run ./cmd/pgtenant dev

## test: vet, every test against a real PostgreSQL, and the generated-files checks.
test: postgres test-deps
	$(GO) vet ./...
	PGTEST_REQUIRED=1 $(GO) test -race -count=1 -timeout 30m ./...
	PGTEST_REQUIRED=1 $(GO) test -count=1 -timeout 30m -run TestConcurrentIsolation ./engine/httpapi/
	$(GO) run ./cmd/pgtenant generate --check
	$(GO) run ./cmd/pgtenant fmt -check

## postgres: install a C compiler (the build needs one for libpg_query) and the PostgreSQL server binaries
## (Debian's postgresql-15, as root) when missing; no cluster is started. What `make run` needs.
postgres:
	@sh .ci/deps postgres

## test-deps: what the tests need on top (as root on Debian): pgbouncer (its service neither enabled nor started),
## curl, and the postgrest-js end-to-end test's npm packages (npm ci in internal/e2e).
test-deps:
	@sh .ci/deps test

## bench: the API against pgbench's ceiling for the same SQL, eight scenarios; prints one table (see README
## "Performance"). Not part of `make test`: about two and a half minutes (BENCH_DURATION=5s, BENCH_ROUNDS=2).
bench:
	GO=$(GO) bash internal/bench/run.sh

## build: bin/pgtenant, with VERSION and COMMIT stamped in.
build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o bin/pgtenant ./cmd/pgtenant

vet:
	$(GO) vet ./...

## fuzz: run every parser's fuzz target for a while each (FUZZTIME=30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzFragment$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine/query -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine/query -run '^$$' -fuzz '^FuzzParseParams$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine/query -run '^$$' -fuzz '^FuzzParseBody$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine/tenant -run '^$$' -fuzz '^FuzzCheckToken$$' -fuzztime $(FUZZTIME)

## stop: stop the private PostgreSQL of `make run`.
stop:
	@if [ -f .pgtenant/data/postmaster.pid ]; then \
		if [ "$$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$(PGBIN)/pg_ctl -D $(CURDIR)/.pgtenant/data -m fast stop"; \
		else $(PGBIN)/pg_ctl -D .pgtenant/data -m fast stop; fi; \
	else echo "no private PostgreSQL is running under .pgtenant/"; fi
