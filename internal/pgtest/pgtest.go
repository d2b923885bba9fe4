package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// DB is one test's database, dropped when the test ends.
type DB struct {
	Name     string        // the database name
	AdminURL string        // the superuser on this database: for setup and inspection only, never for the behaviour under test
	Owner    *pgxpool.Pool // pgtest_owner, which owns the database and applied the migrations: NOSUPERUSER NOBYPASSRLS CREATEROLE
	OwnerURL string        // the URL Owner connects with

	c     *cluster
	mu    sync.Mutex
	roles []string // login roles to drop after the database
}

// New returns a fresh database with the repository's migrations/ applied: a clone of a template built once per
// test binary (and shared by binaries with the same migrations on one cluster). It skips the test when no
// PostgreSQL is available, unless PGTEST_REQUIRED=1.
func New(t testing.TB) *DB {
	t.Helper()
	c := connect(t)
	return c.create(t, c.templateDB(t))
}

// NewEmpty returns a fresh empty database (from template0) owned by pgtest_owner, with no migrations applied.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return connect(t).create(t, "template0")
}

// Login creates a LOGIN role that is NOSUPERUSER and NOBYPASSRLS, owns nothing and is granted each of roles, and
// returns a pool connected to the database as it. The pool is closed when t ends and the role is dropped with
// the database.
func (db *DB) Login(t testing.TB, roles ...string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), db.LoginURL(t, roles...))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// LoginURL is Login returning the role's URL instead of a pool.
func (db *DB) LoginURL(t testing.TB, roles ...string) string {
	t.Helper()
	return db.loginURL(t, "NOCREATEDB NOCREATEROLE", roles)
}

// DevServerURL is a DEV_DATABASE_URL on the test cluster: a fresh login that may create databases and roles
// (CREATEDB CREATEROLE) and is no superuser, the least a dev database server needs.
func (db *DB) DevServerURL(t testing.TB) string {
	t.Helper()
	return db.loginURL(t, "CREATEDB CREATEROLE", nil)
}

func (db *DB) loginURL(t testing.TB, create string, roles []string) string {
	t.Helper()
	name, password := "pgtest_login_"+randomHex(6), randomHex(16)
	db.mu.Lock()
	db.roles = append(db.roles, name)
	db.mu.Unlock()
	ctx := t.Context()
	_, err := db.c.admin.Exec(ctx, "CREATE ROLE "+ddl.Ident(name)+" WITH LOGIN NOSUPERUSER NOBYPASSRLS "+create+
		" NOREPLICATION INHERIT PASSWORD "+schema.QuoteLiteral(password))
	if err != nil {
		t.Fatalf("pgtest: create login role: %v", err)
	}
	for _, role := range roles {
		if _, err := db.c.admin.Exec(ctx, "GRANT "+ddl.Ident(role)+" TO "+ddl.Ident(name)); err != nil {
			t.Fatalf("pgtest: grant role %q (do the migrations create it?): %v", role, err)
		}
	}
	return db.c.url(name, password, db.Name)
}

// create makes a database from template, owned by the owner role, and registers its removal.
func (c *cluster) create(t testing.TB, template string) *DB {
	t.Helper()
	db := &DB{Name: dbName(t), c: c}
	begin := time.Now()
	_, err := c.admin.Exec(t.Context(), "CREATE DATABASE "+ddl.Ident(db.Name)+" TEMPLATE "+ddl.Ident(template)+
		" OWNER "+ddl.Ident(ownerRole))
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() { db.drop(t) })
	t.Logf("pgtest: database %s from %s in %s", db.Name, template, time.Since(begin).Round(time.Millisecond))

	admin := *c.adminURL
	admin.Path, admin.RawPath = "/"+db.Name, ""
	db.AdminURL = admin.String()
	db.OwnerURL = c.url(ownerRole, c.ownerPassword, db.Name)
	if db.Owner, err = pgxpool.New(t.Context(), db.OwnerURL); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Owner.Close) // runs before drop: cleanups run last-in first-out
	return db
}

// drop removes the database, then the login roles made for it (once the database is gone, nothing in the cluster
// refers to them).
func (db *DB) drop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // t.Context() is done by now
	defer cancel()
	if _, err := db.c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ddl.Ident(db.Name)+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", db.Name, err)
		return
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, role := range db.roles {
		if _, err := db.c.admin.Exec(ctx, "DROP ROLE IF EXISTS "+ddl.Ident(role)); err != nil {
			t.Errorf("pgtest: drop role %s: %v", role, err)
		}
	}
}

// dbName returns a database name that tells which test made it and is unique across the cluster, within the
// 63-byte limit on identifiers.
func dbName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() == 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "pgtest_" + b.String() + "_" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
