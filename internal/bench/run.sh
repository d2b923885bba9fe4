#!/usr/bin/env bash
# make bench: pgtenant's HTTP API against the database's own ceiling, on this machine, in one run.
#
# It starts a private PostgreSQL 15 in a temporary directory (as the postgres OS user when run as root), loads a
# deterministic data set (load.sql), starts `pgtenant serve`, and for each scenario:
#   1. sends one request and captures, from PostgreSQL's log, the statements the server sent for it;
#   2. drives the server with wrk (the Lua scripts here rotate tenants and tokens);
#   3. runs pgbench with those same statements (internal/bench/main.go writes the script: the same texts, prepared,
#      in one pipeline with one Sync, as the server's one-round-trip batch), the database-only ceiling;
# then prints one table. Everything it starts is stopped, and its temporary directory removed, on exit, ^C or TERM.
#
# Settings (environment):
#   BENCH_DURATION   how long each wrk and each pgbench run lasts (default 5s)
#   BENCH_ROUNDS     rounds of (wrk, pgbench) per scenario, the best of each kept (default 2)
#   BENCH_CONNS      wrk connections and pgbench clients (default 32)
#   BENCH_THREADS    wrk threads and pgbench jobs (default 2)
#   BENCH_SCENARIOS  which scenarios to run (default "1 2 3 4 5 6 7 8")
#   BENCH_KEEP=1     keep the temporary directory (logs, captured SQL, pgbench scripts) and print its path
#   DB_POOL_SIZE, DB_EXEC_MODE and the other settings of `pgtenant serve` pass through to the server.
#
# The data set (ids are deterministic so that the Lua and pgbench scripts can compute them):
#   tenants t100 … t199, id 00000000-0000-4000-a000-000000000NNN (NNN = 100 … 199), 1,000 pages each:
#     page n (1000 … 1999) of tenant NNN has id 00000NNN-0000-4000-8000-00000000nnnn, half of them published;
#   tenant t900 (same id scheme) with 10,000 pages (n 10000 … 19999), for scenario 6;
#   each tenant has one namespace (00000NNN-0000-4000-9000-000000000001), one category, ten themes (every page has
#   the same one) and twenty tags, and every page two of the tags (webpages_webpage_tags), for scenario 7.
#   Tokens are made for t100 … t119 (scenarios 1-5 rotate over these 20) and t900.
set -euo pipefail

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-2}
CONNS=${BENCH_CONNS:-32}
THREADS=${BENCH_THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

case "$DURATION" in *[0-9]s) ;; *) die "BENCH_DURATION: want seconds, such as 10s, got $DURATION" ;; esac

# ---------------------------------------------------------------- tools
apt_install() { # package...
	[ "$(id -u)" = 0 ] || die "$* not found: run as root, or: sudo apt-get install $*"
	say "installing $* from Debian's packages"
	apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
PGBIN=${PGBIN:-$(pgbin)}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pgbench" ]; then
	apt_install postgresql-15
	PGBIN=$(pgbin)
fi
command -v wrk >/dev/null 2>&1 || apt_install wrk
command -v curl >/dev/null 2>&1 || apt_install curl

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/pgtenant-bench.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
AS_PG=()
if [ "$(id -u)" = 0 ]; then
	AS_PG=(runuser -u postgres --)
fi
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	if [ -f "$WORK/pg/data/postmaster.pid" ]; then
		"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		say "bench: kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free TCP port on 127.0.0.1 for PostgreSQL: one nothing answers on, below the kernel's ephemeral range (so that
# no outgoing connection holds it).
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	die "no free port found"
}
secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ---------------------------------------------------------------- build
START=$(date +%s)
say "== building pgtenant and the pgbench script writer"
(cd "$ROOT" && "$GO" build -o "$WORK/pgtenant" ./cmd/pgtenant && "$GO" build -o "$WORK/pgbscript" ./internal/bench)
PGT="$WORK/pgtenant"

# ---------------------------------------------------------------- PostgreSQL
say "== starting a private PostgreSQL in $WORK/pg"
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
PGPORT=$(free_port)
"${AS_PG[@]}" "$PGBIN/initdb" --no-sync -D "$WORK/pg/data" -U postgres --auth-local=trust \
	--auth-host=scram-sha-256 -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
# jsonlog: the statements of one request are read back from it (internal/bench/main.go).
cat >>"$WORK/pg/data/postgresql.conf" <<EOF
# make bench
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK/pg'
max_connections = 100
synchronous_commit = off
logging_collector = on
log_destination = 'jsonlog'
log_directory = '$WORK/pg/log'
log_filename = 'postgresql'
EOF
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/startup.log" -w -t 60 start >/dev/null \
	|| { cat "$WORK/pg/startup.log" >&2; die "PostgreSQL did not start"; }
PGLOG="$WORK/pg/log/postgresql.json"

psql_su() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK/pg" -p "$PGPORT" -U postgres "$@"; }
SU_URL="host=$WORK/pg port=$PGPORT user=postgres dbname=bench"

OWNER_PW=$(secret)
APP_PW=$(secret)
psql_su -d postgres <<EOF
CREATE ROLE bench_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE PASSWORD '$OWNER_PW';
CREATE ROLE bench_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD '$APP_PW';
CREATE DATABASE bench OWNER bench_owner;
EOF
export ADMIN_DATABASE_URL="postgres://bench_owner:$OWNER_PW@127.0.0.1:$PGPORT/bench?sslmode=disable"
APP_URL="postgres://bench_app:$APP_PW@127.0.0.1:$PGPORT/bench?sslmode=disable"
(cd "$ROOT" && "$PGT" migrate up) >&2
psql_su -d bench -c 'GRANT app TO bench_app'

# ---------------------------------------------------------------- data
say "== loading 100 tenants x 1,000 pages and one tenant with 10,000 pages"
# As the cluster superuser: the tables FORCE row-level security, and no policy lets their owner write rows, so the
# owner cannot load them; a superuser bypasses RLS and sets tenant_id explicitly.
psql_su -d bench -f "$HERE/load.sql" >&2

say "== creating tokens"
DATA="$WORK/data.lua"
{
	echo "-- generated by internal/bench/run.sh"
	echo "return {"
	for i in $(seq 100 119) 900; do
		tok=$(cd "$ROOT" && "$PGT" token create --tenant "t$i" --name "bench-$i" 2>>"$WORK/tokens.log")
		echo "  {n=$i, tenant=\"t$i\", token=\"$tok\"},"
		[ "$i" = 100 ] && echo "$tok" >"$WORK/t100.token"
		[ "$i" = 900 ] && echo "$tok" >"$WORK/t900.token"
	done
	echo "}"
} >"$DATA"

# ---------------------------------------------------------------- server
say "== starting pgtenant serve"
# Ports 0: the server picks free ones and prints them.
(
	cd "$ROOT"
	export DATABASE_URL="$APP_URL" LISTEN_ADDR="127.0.0.1:0" ADMIN_LISTEN_ADDR="127.0.0.1:0" \
		MAX_ROWS=${MAX_ROWS:-10000} LOG_LEVEL=${LOG_LEVEL:-warn}
	unset ADMIN_DATABASE_URL
	exec "$PGT" serve
) >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
HTTP_PORT="" ADMIN_PORT=""
for _ in $(seq 1 300); do
	read -r HTTP_PORT ADMIN_PORT < <(sed -n 's|.* on http://127.0.0.1:\([0-9]*\)/.*probes on http://127.0.0.1:\([0-9]*\)/.*|\1 \2|p' "$WORK/server.out") || true
	[ -n "$ADMIN_PORT" ] && curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.out" "$WORK/server.log" >&2; die "the server exited"; }
	sleep 0.1
done
[ -n "$ADMIN_PORT" ] && curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" \
	|| { tail -20 "$WORK/server.log" >&2; die "the server never became ready"; }
say "   serving on 127.0.0.1:$HTTP_PORT"

API="http://127.0.0.1:$HTTP_PORT/api/v1"
H100=(-H "Authorization: Token $(cat "$WORK/t100.token")" -H "X-Tenant-ID: t100")
H900=(-H "Authorization: Token $(cat "$WORK/t900.token")" -H "X-Tenant-ID: t900")
T100="00000000-0000-4000-a000-000000000100"
NS100="00000100-0000-4000-9000-000000000001"
P1="00000100-0000-4000-8000-000000001000"
LIST="select=id,slug,title,published_at&is_published=eq.true&order=published_at.desc&limit=20"
BIG="select=*&order=id"
EMBED="select=id,slug,title,published_at,webpages_pagetheme(name),content_tag(name)&is_published=eq.true&order=published_at.desc&limit=20"
RPC="q=Page+1&select=id,slug,title,published_at&limit=20"

# The rss of the server in MB: VmRSS now, or VmHWM, the peak since reset_peak.
rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
reset_peak() { echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || true; }

# One request with the status it must answer; prints nothing, fails the run on any other status.
probe() { # expected-status curl-args...
	local want=$1 got
	shift
	got=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' "$@")
	[ "$got" = "$want" ] || { say "probe answered $got, not $want:"; cat "$WORK/probe.out" >&2; die "probe failed"; }
}
probe_1() { probe 200 "$API/webpages_webpage?id=eq.$P1" "${H100[@]}" -H 'Accept: application/vnd.pgrst.object+json'; }
probe_2() { probe 200 "$API/webpages_webpage?$LIST" "${H100[@]}"; }
probe_3() { probe 206 "$API/webpages_webpage?$LIST" "${H100[@]}" -H 'Prefer: count=exact'; }
POSTS=0
probe_4() {
	POSTS=$((POSTS + 1))
	probe 201 "$API/webpages_webpage" "${H100[@]}" -H 'Content-Type: application/json' \
		-d "{\"namespace_id\":\"$NS100\",\"slug\":\"probe-post-$POSTS\",\"title\":\"Posted by wrk\",\"body\":\"A page posted by make bench.\"}"
}
probe_5() { probe 204 -X PATCH "$API/webpages_webpage?id=eq.$P1" "${H100[@]}" -H 'Content-Type: application/json' -d '{"title":"Patched by wrk 1"}'; }
probe_6() { probe 200 "$API/webpages_webpage?$BIG" "${H900[@]}"; }
probe_7() { probe 200 "$API/webpages_webpage?$EMBED" "${H100[@]}"; }
probe_8() { probe 200 "$API/rpc/search_pages?$RPC" "${H100[@]}"; }

sleep 1
IDLE_RSS=$(rss VmRSS)
say "== idle RSS of the server: ${IDLE_RSS} MB"
for i in 8 7 1 2 3 4 5 6; do "probe_$i"; done # warm: credentials, tenants and statements cached
N_BIG=$(grep -o '"id"' "$WORK/probe.out" | wc -l)
[ "$N_BIG" = 10000 ] || die "scenario 6 returned $N_BIG rows, not 10000"
probe_7
N_TAGS=$(grep -o '"name" *: *"Tag [0-9]*"' "$WORK/probe.out" | wc -l)
[ "$N_TAGS" = 40 ] || die "scenario 7 returned $N_TAGS tags, not 40 (20 pages, 2 tags each)"

# capture N writes WORK/pgbench-N.sql and WORK/pgbench-N.vars from the statements one probe_N request sends.
set_log() { psql_su -d bench -c "ALTER SYSTEM SET log_statement = '$1'" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }
capture() {
	local num=$1 offset
	set_log all
	offset=$(stat -c %s "$PGLOG" 2>/dev/null || echo 0)
	"probe_$num"
	sleep 0.3
	set_log none
	# The values that change from one request to the next, as pgbench computes them: :tenant the tenant (a bound
	# parameter, see below) and :n its number, :p the page (1000-1999), :r a random number, :client_id pgbench's
	# client.
	local subs=(
		-sub "$T100=:tenant"
		-sub "$NS100=('00000' || :n::text || '-0000-4000-9000-000000000001')"
		-sub "$P1=('00000' || :n::text || '-0000-4000-8000-00000000' || :p::text)"
		-sub "probe-post-$POSTS=('pgb-' || :client_id::text || '-' || :r::text)"
		-sub "Patched by wrk 1=('Patched by pgbench ' || :r::text)"
	)
	"$WORK/pgbscript" -log "$PGLOG" -offset "$offset" -url "$SU_URL" -out "$WORK/pgbench-$num.sql" \
		-vars "$WORK/pgbench-$num.vars" -prefix '\set n 100;\set p random(1000, 1999);\set r random(1, 1000000000000)' \
		"${subs[@]}" || die "scenario $num: could not write the pgbench script"
	# The tenant is a bound uuid parameter, as the server binds it, not an SQL expression over :n that PostgreSQL
	# would evaluate at every use (in a generic plan: each embedded table's tenant predicate, for every parent row;
	# scenario 7's ceiling was a quarter lower for it). pgbench cannot pick a string variable at random, and one
	# script per tenant would leave a fifth of the transactions custom-planned (each prepared statement is planned
	# afresh for its first five executions, on each connection), so pgbench runs tenant t100 only (n = 100): the
	# same rows and sizes as every tenant's, the same statement texts and parameter types as the server's.
	echo "-Dtenant=$T100" >>"$WORK/pgbench-$num.vars"
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
# wrk's latency in ms, from "1.23ms" / "850.00us" / "1.02s" / "1.00m"
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.2f", v }'; }

# One wrk run of a scenario: prints "req/s p50 p99" (ms).
run_wrk() { # number lua round
	local out="$WORK/wrk-$1-$3.txt" errs
	BENCH_DIR="$HERE" BENCH_DATA="$DATA" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 60s --latency -s "$HERE/$2" \
		"http://127.0.0.1:$HTTP_PORT" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
	errs=$(awk '/Non-2xx or 3xx responses:/ { print $NF } /Socket errors:/ { print "socket errors" }' "$out")
	[ -z "$errs" ] || { cat "$out" >&2; die "scenario $1: errors ($errs)"; }
	printf '%s %s %s\n' "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")" \
		"$(awk '$1 == "50%" { print $2 }' "$out" | ms)" "$(awk '$1 == "99%" { print $2 }' "$out" | ms)"
}

# One pgbench run of a scenario's captured statements: prints its tps.
run_pgbench() { # number round
	local out="$WORK/pgbench-$1-$2.txt" vars=()
	mapfile -t vars <"$WORK/pgbench-$1.vars"
	PGPASSWORD="$APP_PW" "$PGBIN/pgbench" -n -M prepared -c"$CONNS" -j"$THREADS" -T"${DURATION%s}" \
		-f "$WORK/pgbench-$1.sql" "${vars[@]}" -h 127.0.0.1 -p "$PGPORT" -U bench_app bench >"$out" 2>&1 \
		|| { cat "$out" >&2; die "pgbench failed"; }
	awk '/^tps = / { printf "%.0f\n", $3 }' "$out"
}

# A scenario: ROUNDS rounds of wrk then pgbench, alternating so that a burst of noise on this shared machine hits
# both sides alike; the best round of each is kept (noise only ever slows a run down).
scenario() { # number name lua
	local num=$1 name=$2 lua=$3 best="0 0 0" tps=0 r w t
	say "== scenario $num: $name"
	capture "$num"
	reset_peak
	for r in $(seq 1 "$ROUNDS"); do
		w=$(run_wrk "$num" "$lua" "$r")
		t=$(run_pgbench "$num" "$r")
		say "   round $r: $(echo "$w" | awk '{ printf "%s req/s, p50 %s ms, p99 %s ms", $1, $2, $3 }'); pgbench $t tps"
		[ "${w%% *}" -gt "${best%% *}" ] && best=$w
		[ "$t" -gt "$tps" ] && tps=$t
	done
	local hwm
	hwm=$(rss VmHWM)
	read -r rps p50 p99 <<<"$best"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$num" "$name" "$rps" "$p50" "$p99" "$tps" "$hwm" >>"$RESULTS"
	say "   best: $rps req/s, p50 $p50 ms, p99 $p99 ms; pgbench $tps tps; peak RSS $hwm MB"
}

for num in ${BENCH_SCENARIOS:-1 2 3 4 5 6 7 8}; do
	case $num in
	1) scenario 1 "GET one page by id (object)" get_one.lua ;;
	2) scenario 2 "GET list: filter, order, limit 20" get_list.lua ;;
	3) scenario 3 "GET list + count=exact" get_count.lua ;;
	4) scenario 4 "POST one page" post.lua ;;
	5) scenario 5 "PATCH one page by id" patch.lua ;;
	6) scenario 6 "GET 10,000 rows of one tenant" get_big.lua ;;
	7) scenario 7 "GET list of 20 pages, each with its theme and its tags" get_embed.lua ;;
	8) scenario 8 "GET /rpc/search_pages: 20 published pages matching q" get_rpc.lua ;;
	*) die "BENCH_SCENARIOS: no scenario $num" ;;
	esac
done

# Scenario 6 alone: when does the first byte arrive, against the last?
TTFB=$(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}' "$API/webpages_webpage?$BIG" "${H900[@]}")
sleep 2
IDLE_AFTER=$(rss VmRSS)

# ---------------------------------------------------------------- report
END=$(date +%s)
{
	echo
	echo "pgtenant make bench: $(nproc) cores shared by wrk, the server and PostgreSQL; best of $ROUNDS runs of ${DURATION};" \
		"$CONNS connections (wrk -t$THREADS, pgbench -j$THREADS -M prepared); server pool: ${DB_POOL_SIZE:-default}"
	echo
	echo "| scenario | req/s | p50 ms | p99 ms | pgbench tps | ratio | peak RSS MB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ ratio = ($6 > 0) ? sprintf("%.0f%%", 100 * $3 / $6) : "-";
		printf "| %s. %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, ratio, $7 }' "$RESULTS"
	echo
	echo "Idle RSS: ${IDLE_RSS} MB at start, ${IDLE_AFTER} MB after the run. Peak RSS: VmHWM during the scenario's runs."
	read -r ttfb total size <<<"$TTFB"
	awk -v f="$ttfb" -v t="$total" -v s="$size" 'BEGIN { printf "Scenario 6 alone: first byte after %.1f ms, last after %.1f ms, %d bytes.\n", f * 1000, t * 1000, s }'
	awk -F'\t' '$1 == 2 { s2 = $3 } $1 == 3 { s3 = $3 } END { if (s3 > 0) printf "count=exact: a request costs %.2fx scenario 2'"'"'s (req/s of 2 / req/s of 3).\n", s2 / s3 }' "$RESULTS"
	awk -F'\t' '$1 == 2 { r2 = $3; t2 = $6 } $1 == 7 { r7 = $3; t7 = $6 } END { if (r2 > 0 && r7 > 0 && t2 > 0 && t7 > 0)
		printf "Embedding: scenario 7 reaches %.0f%% of its pgbench ceiling (scenario 2: %.0f%%; target: at least as much), and %.0f%% of scenario 2'"'"'s req/s (target: 60%%).\n",
			100 * r7 / t7, 100 * r2 / t2, 100 * r7 / r2 }' "$RESULTS"
	echo "make bench took $((END - START)) s."
}
