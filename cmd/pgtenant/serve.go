package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// reloadChannel is the NOTIFY channel the server listens on: payload
// "reload" re-reads the schema; any other payload drops the registry caches.
const reloadChannel = "pgtenant"

func cmdServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0))
	}
	sc := e.cfg
	if problems := sc.ServeProblems(); len(problems) > 0 {
		fmt.Fprintln(e.stderr, "pgtenant serve: invalid configuration, not starting:")
		for _, p := range problems {
			fmt.Fprintf(e.stderr, "  %s\n", p)
		}
		return exitFailure
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	logger, err := newLogger(e.stderr, sc.LogFormat, sc.LogLevel)
	if err != nil {
		return fail(e, "serve", err)
	}
	if os.Getenv("GOGC") == "" {
		// The live heap of a serving process is a few MB, so Go's default (a
		// collection each time the heap doubles) collects hundreds of times a
		// second under load. 400 cut that to a fifth and raised make bench's
		// req/s by about 7%, for about 12 MB more RSS under load (README
		// "Performance"). GOGC set in the environment wins.
		debug.SetGCPercent(400)
	}
	srv, err := startServer(ctx, sc, model, logger, nil)
	if err != nil {
		return fail(e, "serve", err)
	}
	defer srv.close()
	if err := srv.serveAdmin(sc.AdminListenAddr, nil); err != nil {
		return fail(e, "serve", err)
	}
	fmt.Fprintf(e.stdout, "pgtenant serving %s on http://%s%s/ (metrics and probes on http://%s/)\n",
		e.cfg.PoliciesFile, srv.addr, sc.BasePath, srv.adminAddr)
	return srv.wait(ctx, e)
}

// running is a started API server with everything it holds.
type running struct {
	addr     string
	http     *http.Server
	api      *httpapi.Server
	pool     *pgxpool.Pool
	resolver *tenant.Resolver
	logger   *slog.Logger
	errc     chan error
	stop     context.CancelFunc
	tenancy  schema.Tenancy

	reg       *prometheus.Registry // the metrics the admin listener serves
	admin     *http.Server         // the admin listener, once serveAdmin started it
	adminAddr string
}

// startServer connects, refuses an unsafe role, introspects and starts
// serving on ln, or on LISTEN_ADDR when ln is nil.
func startServer(ctx context.Context, sc Config, declared *schema.Model, logger *slog.Logger, ln net.Listener) (*running, error) {
	jwtCfg, err := sc.jwtConfig(declared.Roles)
	if err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(sc.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	poolCfg.ConnConfig.RuntimeParams["application_name"] = "pgtenant"
	pgtx.CloseOnContext(&poolCfg.ConnConfig.Config) // a client that goes away ends its own statement only
	if poolCfg.ConnConfig.DefaultQueryExecMode, err = parseExecMode(sc.ExecMode); err != nil {
		return nil, err
	}
	if sc.PoolSize > 0 {
		poolCfg.MaxConns = int32(sc.PoolSize)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			pool.Close()
		}
	}()
	tenancy := declared.Tenancy
	if sc.TenantHeader != "" {
		tenancy.Header = sc.TenantHeader
	}
	names := make([]string, len(declared.Tables))
	for i, t := range declared.Tables {
		names[i] = t.Name
	}
	problems, err := introspect.Check(ctx, pool, names)
	if err != nil {
		return nil, fmt.Errorf("check the database role: %w", err)
	}
	if len(problems) > 0 {
		msg := "refusing to serve: the database connection is unsafe:"
		for _, p := range problems {
			msg += "\n  " + p.String()
		}
		return nil, errors.New(msg)
	}
	model, err := introspect.Load(ctx, pool, tenancy)
	if err != nil {
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	resolver := tenant.NewResolver(registry.NewStore(pool), tenant.Config{
		Header: tenancy.Header, Require: sc.RequireTenant, DefaultTenant: sc.DefaultTenant, TTL: sc.CacheTTL,
		JWT: jwtCfg,
	})
	reg := prometheus.NewRegistry()
	api := httpapi.New(httpapi.Config{
		Metrics: reg, PoolStats: pool.Stat, Ping: pool.Ping, SlowRequest: sc.SlowRequestThreshold,
		RateLimit:    httpapi.RateLimit{RPS: sc.RateLimitRPS, Burst: sc.RateLimitBurst},
		AuthFailures: httpapi.AuthFailureLimit{RPS: sc.AuthFailureRPS, Burst: sc.AuthFailureBurst},
		WriteTimeout: sc.WriteTimeout, TrustedProxies: sc.TrustedProxies,
		BasePath: sc.BasePath, Tenancy: tenancy, Roles: declared.Roles, Runner: pgtx.New(pool), Resolver: resolver,
		Logger: logger, MaxRows: sc.MaxRows, StatementTimeout: sc.StatementTimeout, MaxBodyBytes: sc.MaxBodyBytes,
		CORSOrigins: sc.CORSOrigins, CacheControl: sc.CacheControl, Limits: query.Limits{}, Version: readBuildInfo().Version,
	}, model)
	if ln == nil {
		if ln, err = net.Listen("tcp", sc.ListenAddr); err != nil {
			return nil, fmt.Errorf("LISTEN_ADDR: %w", err)
		}
	}
	hs := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// No WriteTimeout: net/http would count it from the request's arrival, so a request that waited for a
		// database connection or ran a long statement would lose its answer. The API bounds every response
		// instead, from its first byte and again at every write of a streamed read (WRITE_TIMEOUT).
		WriteTimeout: 0,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &running{addr: ln.Addr().String(), http: hs, api: api, pool: pool, resolver: resolver, logger: logger,
		errc: make(chan error, 2), stop: stop, tenancy: tenancy, reg: reg}
	// LISTEN before serving, so that no reload announced after start-up is
	// missed; a failure here is retried in the background.
	listenURL := cmp.Or(sc.DatabaseListenURL, sc.DatabaseURL)
	first, err := r.subscribe(lctx, listenURL)
	if err != nil {
		logger.Warn("listening for notifications failed; retrying", "err", err)
	}
	go func() { r.errc <- hs.Serve(ln) }()
	go r.listen(lctx, listenURL, first)
	ok = true
	logger.Info("serving", "addr", r.addr, "base_path", sc.BasePath, "tables", len(model.Tables))
	return r, nil
}

// reload re-reads the schema from the database.
func (r *running) reload(ctx context.Context) {
	m, err := introspect.Load(ctx, r.pool, r.tenancy)
	r.api.SchemaReloaded(err)
	if err != nil {
		r.logger.Error("schema reload failed; still serving the previous schema", "err", err)
		return
	}
	r.api.SetModel(m)
	r.resolver.Invalidate()
	r.logger.Info("schema reloaded", "tables", len(m.Tables))
}

// subscribe opens a connection that LISTENs on the reload channel.
func (r *running) subscribe(ctx context.Context, url string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+reloadChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// listen reloads on NOTIFY pgtenant, 'reload' and drops the registry caches
// on any other payload, reconnecting when the connection drops. After a
// reconnect it reloads both, since notifications may have been missed.
func (r *running) listen(ctx context.Context, url string, conn *pgx.Conn) {
	for ctx.Err() == nil {
		var err error
		if conn == nil {
			if conn, err = r.subscribe(ctx, url); err == nil {
				r.reload(ctx)
			}
		}
		if conn != nil {
			for {
				n, werr := conn.WaitForNotification(ctx)
				if werr != nil {
					err = werr
					break
				}
				if n.Payload == "reload" {
					r.reload(ctx)
				} else {
					r.resolver.Invalidate()
				}
			}
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
		}
		if ctx.Err() != nil {
			return
		}
		r.logger.Warn("listening for notifications failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// wait serves until ctx ends or SIGHUP asks for a reload, then drains
// in-flight requests.
func (r *running) wait(ctx context.Context, e *env) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			r.reload(ctx)
		case err := <-r.errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return fail(e, "serve", err)
			}
			return exitOK
		case <-ctx.Done():
			r.logger.Info("shutting down: draining in-flight requests")
			r.api.SetDraining(true) // /readyz answers 503 from now on
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := r.http.Shutdown(sctx); err != nil {
				return fail(e, "serve", err)
			}
			if r.admin != nil {
				_ = r.admin.Shutdown(sctx)
			}
			return exitOK
		}
	}
}

func (r *running) close() {
	r.stop()
	_ = r.http.Close()
	if r.admin != nil {
		_ = r.admin.Close()
	}
	r.pool.Close()
}

// serveAdmin starts the admin listener (/metrics, /healthz, /readyz) on ln,
// or on addr (ADMIN_LISTEN_ADDR) when ln is nil. It is a server of its own,
// so that probes and scrapes never queue behind API requests, and so that
// it can stay off the public address.
func (r *running) serveAdmin(addr string, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("ADMIN_LISTEN_ADDR: %w", err)
		}
	}
	r.adminAddr = ln.Addr().String()
	r.admin = &http.Server{
		Handler:           r.api.AdminHandler(r.reg),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := r.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errc <- err
		}
	}()
	r.logger.Info("admin listener serving /metrics, /healthz and /readyz", "addr", r.adminAddr)
	return nil
}

// newLogger builds the one logger: JSON for production, text for people.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("LOG_FORMAT %q: want json or text", format)
}
