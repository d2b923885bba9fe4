# pgtenant: the two commands are `make run` and `make test` (see README.md).
GO      ?= go
PGBIN   ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin))

.PHONY: run test deps build vet lint fuzz stop clean-dev bench

## run: start (or reuse) the private PostgreSQL under .pgtenant/ and apply the migrations.
run: deps
	$(GO) run ./cmd/pgtenant dev

## test: vet, every test against a real PostgreSQL, and the generated-files checks.
test: deps
	$(GO) vet ./...
	PGTEST_REQUIRED=1 $(GO) test -race -count=1 -timeout 30m ./...
	PGTEST_REQUIRED=1 $(GO) test -count=1 -timeout 30m -run TestConcurrentIsolation ./engine/httpapi/
	$(GO) run ./cmd/pgtenant generate --check
	$(GO) run ./cmd/pgtenant fmt -check

## deps: install a C compiler (cgo builds libpg_query, PostgreSQL's parser), the PostgreSQL server binaries and
## pgbouncer (Debian, as root) and the e2e test's npm packages when missing.
deps:
	@if ! command -v "$$($(GO) env CC)" >/dev/null 2>&1; then \
		echo "no C compiler found: installing gcc from Debian's packages (cgo compiles libpg_query, PostgreSQL's parser)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev; \
		else echo "run as root, or: sudo apt-get install gcc libc6-dev" >&2; exit 1; fi; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL server binaries not found: installing postgresql-15 from Debian's packages"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15; \
		else echo "run as root, or: sudo apt-get install postgresql-15" >&2; exit 1; fi; \
	fi
	@if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then \
		echo "pgbouncer not found: installing it from Debian's packages (for the PgBouncer integration test)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer; \
		else echo "run as root, or: sudo apt-get install pgbouncer" >&2; exit 1; fi; \
	fi
	@if [ ! -d internal/e2e/node_modules/@supabase/postgrest-js ]; then \
		command -v npm >/dev/null || { echo "npm is needed for the postgrest-js end-to-end test" >&2; exit 1; }; \
		npm ci --prefix internal/e2e --no-audit --no-fund; \
	fi

## bench: the API against pgbench's ceiling for the same SQL, six scenarios; prints one table (see README
## "Performance"). Not part of `make test`: about two and a half minutes (BENCH_DURATION=5s, BENCH_ROUNDS=2).
bench:
	GO=$(GO) bash internal/bench/run.sh

build:
	$(GO) build -o bin/pgtenant ./cmd/pgtenant

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

## stop: stop the private PostgreSQL of `make run`.
stop:
	@if [ -f .pgtenant/data/postmaster.pid ]; then \
		if [ "$$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$(PGBIN)/pg_ctl -D $(CURDIR)/.pgtenant/data -m fast stop"; \
		else $(PGBIN)/pg_ctl -D .pgtenant/data -m fast stop; fi; \
	else echo "no private PostgreSQL is running under .pgtenant/"; fi
