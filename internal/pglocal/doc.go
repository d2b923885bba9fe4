// Package pglocal runs a private PostgreSQL server from the local PostgreSQL binaries (initdb, pg_ctl).
//
// Its one job: given a cluster directory, make sure a server for it is running on a loopback port and say how to
// reach it as the superuser. Tests use it for a throwaway cluster (internal/pgtest); `pgtenant dev` uses it for a
// persistent one under .pgtenant/. Start reuses a server that is already running, starts one that is initialised
// but stopped, and otherwise runs initdb first.
//
// Layout of Options.Dir:
//
//	data/          the data directory (PGDATA); data/pglocal.conf holds the settings below, rewritten on every start
//	password       the superuser's password (mode 0600), so a reused cluster can be connected to
//	port           the TCP port, chosen once and kept so that clients keep working across restarts
//	postgres.log   the server's log (pg_ctl -l)
//	lock           serialises Start and Stop of this directory between processes (flock)
//
// The server listens on 127.0.0.1 only, with password (SCRAM) authentication and no Unix socket. PostgreSQL
// refuses to run as root, so when the process is root, initdb and pg_ctl run as the "postgres" OS user and the
// directory tree is handed to that user. Servers are only ever stopped with `pg_ctl stop` on their own data
// directory, never by killing processes.
//
// pglocal imports only the standard library and pgx (to check that a server accepts connections).
package pglocal
