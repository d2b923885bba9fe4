package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/migrate"
	"pgtenant/internal/pglocal"
	"pgtenant/schema"
)

// The roles `dev` creates in its private cluster, mirroring a production
// setup: the owner applies migrations and owns the tables; the app login
// holds the declared roles and nothing else.
const (
	devDatabase = "pgtenant"
	devOwner    = "pgtenant_owner"
	devApp      = "pgtenant_app"
)

func cmdDev(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "dev", "[--no-serve]")
	noServe := fs.Bool("no-serve", false, "set everything up, print how to connect, and exit instead of serving")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	srv, reused, err := pglocal.Start(ctx, pglocal.Options{Dir: e.cfg.DataDir, Durable: true})
	if err != nil {
		return fail(e, "dev", err)
	}
	how := "started"
	if reused {
		how = "reused the running server"
	}
	fmt.Fprintf(e.stdout, "PostgreSQL on 127.0.0.1:%d (%s; data in %s)\n", srv.Port, how, e.cfg.DataDir)

	urls, err := devRoles(ctx, srv, e.cfg.DataDir, model)
	if err != nil {
		return fail(e, "dev", err)
	}
	from, to, err := migrate.Up(ctx, urls.owner, e.cfg.MigrationsDir)
	if err != nil {
		return fail(e, "dev", err)
	}
	if from == to {
		fmt.Fprintf(e.stdout, "Migrations: already at version %d.\n", to)
	} else {
		fmt.Fprintf(e.stdout, "Migrations: applied %s, version %d → %d.\n", e.cfg.MigrationsDir, from, to)
	}
	if err := grantApp(ctx, urls.owner, model); err != nil {
		return fail(e, "dev", err)
	}
	demos, err := devDemo(ctx, urls, e.cfg.DataDir, model)
	if err != nil {
		return fail(e, "dev", err)
	}
	printConnect(e.stdout, urls, model, demos)
	if *noServe {
		return exitOK
	}
	sc := e.cfg
	sc.DatabaseURL = urls.app // dev serves as the app login it just made
	// The server's first log lines wait until the commands below are printed, so that a terminal shows them as
	// one block instead of with log lines in between.
	logs := &heldWriter{w: e.stderr, held: true}
	logger, err := newLogger(logs, sc.LogFormat, sc.LogLevel)
	if err != nil {
		return fail(e, "dev", err)
	}
	api, err := startServer(ctx, sc, model, logger)
	if err != nil {
		logs.release()
		return fail(e, "dev", err)
	}
	defer api.Close()
	base := "http://" + displayAddr(api.Addr()) + sc.BasePath
	printCurls(e.stdout, base, api.Tenancy().Header, demos)
	fmt.Fprintf(e.stdout, `  # the production checklist against this database and server, with the drills (in another terminal,
  # after the two export lines above)
  %s verify --server %s --admin http://%s --drills
`, selfCommand(), base, displayAddr(api.AdminAddr()))
	fmt.Fprintf(e.stdout, "\nServing on %s/ (Ctrl-C stops the API; PostgreSQL keeps running, `make stop` stops it).\n", base)
	fmt.Fprintf(e.stdout, "Metrics and probes: http://%s/metrics, /healthz, /readyz\n", displayAddr(api.AdminAddr()))
	logs.release()
	return serveUntilDone(ctx, e, "dev", api)
}

// heldWriter keeps what is written while held, and writes it out, then everything after, once released.
type heldWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  bytes.Buffer
	held bool
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		return h.buf.Write(p)
	}
	return h.w.Write(p)
}

// release writes out what was held and lets later writes through.
func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.held = false
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
}

// devDefaults are dev's own defaults: logs for people, and a development server on loopback only.
func devDefaults(c *Config) {
	c.LogFormat = "text"
	c.ListenAddr = "localhost:3000"
}

// displayAddr turns a listener address into one a curl on this machine reaches.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

type devURLs struct{ owner, app string }

// devRoles creates, once, the owner and app login roles and the database,
// with passwords kept in the data directory (mode 0600) so that a reused
// server can be connected to again.
func devRoles(ctx context.Context, srv *pglocal.Server, dataDir string, m *schema.Model) (devURLs, error) {
	if len(m.Roles) == 0 {
		return devURLs{}, errors.New("the declaration has no role for the app login to hold; declare one, like role \"app\"")
	}
	ownerPW, err := secret(filepath.Join(dataDir, devOwner+".password"))
	if err != nil {
		return devURLs{}, err
	}
	appPW, err := secret(filepath.Join(dataDir, devApp+".password"))
	if err != nil {
		return devURLs{}, err
	}
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		return devURLs{}, fmt.Errorf("connect to the private server: %w", err)
	}
	defer conn.Close(ctx)
	// Role and database DDL takes no bind parameters; the names are constants
	// and the passwords are hex, quoted as literals.
	stmts := []string{
		ensureRole(devOwner, "LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE", ownerPW),
		ensureRole(devApp, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB", appPW),
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return devURLs{}, fmt.Errorf("create dev roles: %w", err)
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", devDatabase).Scan(&exists); err != nil {
		return devURLs{}, fmt.Errorf("create dev database: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", ddl.Ident(devDatabase), ddl.Ident(devOwner))); err != nil {
			return devURLs{}, fmt.Errorf("create dev database: %w", err)
		}
	}
	return devURLs{
		owner: loginURL(srv, devOwner, ownerPW),
		app:   loginURL(srv, devApp, appPW),
	}, nil
}

// grantApp lets the app login hold every declared role: the server switches
// to a token's role per request (set_config('role', …, true)), which needs
// membership. Roles exist only once the migrations have run.
func grantApp(ctx context.Context, ownerURL string, m *schema.Model) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("connect as the owner: %w", err)
	}
	defer conn.Close(ctx)
	roles := roleNames(m)
	if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT %s TO %s", ddl.Idents(roles), ddl.Ident(devApp))); err != nil {
		return fmt.Errorf("grant %s to %s: %w", strings.Join(roles, ", "), devApp, err)
	}
	return nil
}

// roleNames lists the declared roles, in declaration order.
func roleNames(m *schema.Model) []string {
	names := make([]string, len(m.Roles))
	for i, r := range m.Roles {
		names[i] = r.Name
	}
	return names
}

func ensureRole(name, options, password string) string {
	return fmt.Sprintf(`DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %[1]s) THEN
    CREATE ROLE %[2]s %[3]s PASSWORD %[4]s;
  END IF;
END $$`, schema.QuoteLiteral(name), ddl.Ident(name), options, schema.QuoteLiteral(password))
}

func loginURL(srv *pglocal.Server, user, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     fmt.Sprintf("127.0.0.1:%d", srv.Port),
		Path:     "/" + devDatabase,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// secret reads the password stored at path, or makes and stores a new one.
func secret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}
