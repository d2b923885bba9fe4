package scratch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
)

// With creates an empty scratch database through serverURL (a role that may CREATE DATABASE: Atlas's "dev
// database" server), calls fn with its name, and drops it when fn returns, whatever fn returned. prefix starts the
// database's name, which ends with random hex. fn connects to the database itself, with serverURL's settings and
// the database replaced by the name.
//
// The server must run PostgreSQL 15 or later, the version the generated SQL needs. The database is dropped on a
// fresh context, so a cancelled ctx does not leave it behind; WITH (FORCE) ends the sessions fn left connected.
func With(ctx context.Context, serverURL, prefix string, fn func(database string) error) (err error) {
	cfg, err := pgconn.ParseConfig(serverURL)
	if err != nil {
		return fmt.Errorf("scratch: scratch database: %w", err)
	}
	server, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("scratch: scratch database: connect: %w", err)
	}
	defer func() {
		cctx, cancel := CleanupContext(ctx)
		defer cancel()
		_ = server.Close(cctx)
	}()
	if v := server.ParameterStatus("server_version"); majorVersion(v) < 15 {
		return fmt.Errorf("scratch: scratch database: the server runs PostgreSQL %s; the generated SQL needs 15 or later", v)
	}

	name := prefix + randomHex(8)
	// template0, not template1: nobody may connect to it, so the copy cannot fail on a busy template1, and the
	// scratch database starts as empty as a production one made from a pristine template.
	if _, err := server.Exec(ctx, "CREATE DATABASE "+ddl.Ident(name)+" TEMPLATE template0").ReadAll(); err != nil {
		return fmt.Errorf("scratch: create a scratch database: %w", err)
	}
	defer func() {
		cctx, cancel := CleanupContext(ctx)
		defer cancel()
		if derr := dropDatabase(cctx, server, cfg, name); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	return fn(name)
}

// CleanupContext is the context cleanup runs on: ctx's values without its cancellation, and a minute to finish.
func CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
}

// dropDatabase drops the scratch database, over a new connection if the first one was closed (a cancelled
// context closes it). FORCE ends the sessions still connected to it.
func dropDatabase(ctx context.Context, server *pgconn.PgConn, cfg *pgconn.Config, name string) error {
	if server.IsClosed() {
		var err error
		if server, err = pgconn.ConnectConfig(ctx, cfg); err != nil {
			return fmt.Errorf("scratch: drop the scratch database %s: %w", name, err)
		}
		defer server.Close(ctx)
	}
	if _, err := server.Exec(ctx, "DROP DATABASE IF EXISTS "+ddl.Ident(name)+" WITH (FORCE)").ReadAll(); err != nil {
		return fmt.Errorf("scratch: drop the scratch database %s: %w", name, err)
	}
	return nil
}

// majorVersion reads the major version from a server_version such as "15.6 (Debian 15.6-1)"; 0 if it cannot.
func majorVersion(v string) int {
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(v)
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
