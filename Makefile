# pgtenant: the two commands are `make run` and `make test` (see README.md).
GO      ?= go
PGBIN   ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin))

.PHONY: run test deps build vet lint fuzz stop clean-dev

## run: start (or reuse) the private PostgreSQL under .pgtenant/ and apply the migrations.
run: deps
	$(GO) run ./cmd/pgtenant dev

## test: vet, every test against a real PostgreSQL, and the generated-files checks.
test: deps
	$(GO) vet ./...
	PGTEST_REQUIRED=1 $(GO) test -race -count=1 ./...
	$(GO) run ./cmd/pgtenant generate --check
	$(GO) run ./cmd/pgtenant fmt -check

## deps: install the PostgreSQL server binaries when they are missing (Debian, as root).
deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL server binaries not found: installing postgresql-15 from Debian's packages"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15; \
		else echo "run as root, or: sudo apt-get install postgresql-15" >&2; exit 1; fi; \
	fi

build:
	$(GO) build -o bin/pgtenant ./cmd/pgtenant

vet:
	$(GO) vet ./...

## fuzz: run each parser's fuzz target for a while (FUZZTIME=30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

## stop: stop the private PostgreSQL of `make run`.
stop:
	@if [ -f .pgtenant/data/postmaster.pid ]; then \
		if [ "$$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$(PGBIN)/pg_ctl -D $(CURDIR)/.pgtenant/data -m fast stop"; \
		else $(PGBIN)/pg_ctl -D .pgtenant/data -m fast stop; fi; \
	else echo "no private PostgreSQL is running under .pgtenant/"; fi
