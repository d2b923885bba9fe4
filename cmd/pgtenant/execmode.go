package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// execModes maps DB_EXEC_MODE to pgx's query exec modes. Behind PgBouncer in
// transaction pooling mode (1.18, Debian 12's, has no protocol-level
// prepared statements), consecutive transactions may run on different
// server connections, so a statement pgx prepared under a name on one is
// unknown on the next: only the modes that never name a statement work
// there, exec (the extended protocol with the unnamed statement, binary
// values) and simple_protocol (values interpolated client-side by pgx).
// https://www.pgbouncer.org/features.html
var execModes = map[string]pgx.QueryExecMode{
	"cache_statement": pgx.QueryExecModeCacheStatement,
	"cache_describe":  pgx.QueryExecModeCacheDescribe,
	"describe_exec":   pgx.QueryExecModeDescribeExec,
	"exec":            pgx.QueryExecModeExec,
	"simple_protocol": pgx.QueryExecModeSimpleProtocol,
}

// parseExecMode returns the pgx exec mode named by DB_EXEC_MODE; "" is the
// default, cache_statement.
func parseExecMode(s string) (pgx.QueryExecMode, error) {
	if s == "" {
		return pgx.QueryExecModeCacheStatement, nil
	}
	if m, ok := execModes[s]; ok {
		return m, nil
	}
	names := make([]string, 0, len(execModes))
	for n := range execModes {
		names = append(names, n)
	}
	slices.Sort(names)
	return 0, fmt.Errorf("DB_EXEC_MODE: want one of %s, got %q", strings.Join(names, ", "), s)
}
