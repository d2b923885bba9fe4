// Package pgbouncer runs a throwaway PgBouncer (the distribution's
// `pgbouncer` binary) in transaction pooling mode in front of a PostgreSQL
// server, for tests: it writes pgbouncer.ini and a userlist into a temporary
// directory, runs the binary (as the postgres OS user when running as root,
// which PgBouncer refuses), listens on 127.0.0.1 on a free port, and stops it
// by its process id.
//
// It is a test helper: only _test.go files import it. It imports no engine
// package.
package pgbouncer
