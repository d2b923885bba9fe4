// Package server runs the API as a process serves it: it opens the app login's pool and refuses an unsafe login,
// reads the schema, serves the API and its admin listener, reloads the schema on NOTIFY pgtenant, 'reload' and on
// every value of a reload channel (cmd sends SIGHUP's), drops the registry caches on any other NOTIFY pgtenant, and
// on shutdown drains the requests in flight.
//
// Input is a Config of plain values, which cmd fills from the settings, and the declaration. It reads no environment
// and installs no signal handler. It is, with cmd, the only importer of engine/httpapi; it also imports pgx,
// Prometheus, schema, engine/introspect, engine/pgtx, engine/registry and engine/tenant.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// ReloadChannel is the NOTIFY channel the server listens on: payload "reload" re-reads the schema; any other
// payload drops the registry caches.
const ReloadChannel = "pgtenant"

// DefaultDrainTimeout is how long a shutdown waits for the requests in flight when Config.DrainTimeout is 0.
const DefaultDrainTimeout = 15 * time.Second

// Config is what Start needs: plain values, named after the settings they come from.
type Config struct {
	DatabaseURL string // DATABASE_URL: the app login; not superuser, no BYPASSRLS, owns nothing
	// ListenURL is DATABASE_LISTEN_URL, the connection that LISTENs for NOTIFY pgtenant; "": DatabaseURL. It must
	// reach PostgreSQL directly: LISTEN does not work through transaction pooling.
	ListenURL string
	ExecMode  pgx.QueryExecMode // DB_EXEC_MODE: how the pool sends statements; 0: pgx's default
	PoolSize  int               // DB_POOL_SIZE: the pool's connections; 0: pgx's default, max(4, cores)
	Addr      string            // LISTEN_ADDR: the API's address, such as :3000 (port 0: any free port)
	// AdminAddr is ADMIN_LISTEN_ADDR, the admin listener's address (/metrics, /healthz, /readyz); "": none. It is
	// a server of its own, so that probes and scrapes never queue behind API requests, and so that it can stay off
	// the public address.
	AdminAddr string
	// Tenant is how credentials and tenants are resolved (REQUIRE_TENANT, DEFAULT_TENANT_ID, REGISTRY_CACHE_TTL, the
	// JWT settings). Its Header (TENANT_HEADER) overrides the declaration's tenancy.header when set.
	Tenant tenant.Config
	// API is the API's configuration (API_BASE_PATH, MAX_ROWS, STATEMENT_TIMEOUT, …). Start fills in what it makes
	// itself: Tenancy, Roles, Runner, Resolver, Logger, Metrics, PoolStats and Ping.
	API          httpapi.Config
	Logger       *slog.Logger  // the one logger; nil: discard
	DrainTimeout time.Duration // how long a shutdown waits for requests in flight; 0: DefaultDrainTimeout
}

// Server is a running API with everything it holds.
type Server struct {
	addr, adminAddr string
	http, admin     *http.Server
	api             *httpapi.Server
	pool            *pgxpool.Pool
	resolver        *tenant.Resolver
	logger          *slog.Logger
	tenancy         schema.Tenancy
	drain           time.Duration
	errc            chan error         // what the listeners' Serve return
	stopListen      context.CancelFunc // ends the LISTEN loop
}

// Start connects as cfg.DatabaseURL, refuses a login that is a superuser, has BYPASSRLS or owns a declared table,
// reads the schema, and serves the API on cfg.Addr and the admin listener on cfg.AdminAddr until Close. ctx bounds
// the start only. Serve the API with Wait.
func Start(ctx context.Context, cfg Config, declared *schema.Model) (*Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	poolCfg.ConnConfig.RuntimeParams["application_name"] = "pgtenant"
	pgtx.CloseOnContext(&poolCfg.ConnConfig.Config) // a client that goes away ends its own statement only
	if cfg.ExecMode != 0 {
		poolCfg.ConnConfig.DefaultQueryExecMode = cfg.ExecMode
	}
	if cfg.PoolSize > 0 {
		poolCfg.MaxConns = int32(cfg.PoolSize)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	var listeners []net.Listener
	ok := false
	defer func() {
		if !ok {
			for _, ln := range listeners {
				_ = ln.Close()
			}
			pool.Close()
		}
	}()
	tenancy := declared.Tenancy
	if cfg.Tenant.Header != "" {
		tenancy.Header = cfg.Tenant.Header
	}
	names := make([]string, len(declared.Tables))
	for i, t := range declared.Tables {
		names[i] = t.Name
	}
	// One read of the catalog, one snapshot: the role check and the served schema see the same database.
	catalog, err := introspect.Read(ctx, pool)
	if err != nil {
		return nil, fmt.Errorf("check the database role: %w", err)
	}
	if problems := catalog.Problems(names); len(problems) > 0 {
		msg := "refusing to serve: the database connection is unsafe:"
		for _, p := range problems {
			msg += "\n  " + p.String()
		}
		return nil, errors.New(msg)
	}
	model := catalog.Model(tenancy)

	tc := cfg.Tenant
	tc.Header = tenancy.Header
	resolver := tenant.NewResolver(registry.NewStore(pool), tc)
	reg := prometheus.NewRegistry()
	ac := cfg.API
	ac.Tenancy, ac.Roles, ac.Runner, ac.Resolver, ac.Logger = tenancy, declared.Roles, pgtx.New(pool), resolver, logger
	ac.Metrics, ac.PoolStats, ac.Ping = reg, pool.Stat, pool.Ping
	api := httpapi.New(ac, model)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	listeners = append(listeners, ln)
	s := &Server{addr: ln.Addr().String(), api: api, pool: pool, resolver: resolver, logger: logger, tenancy: tenancy,
		drain: cmp.Or(cfg.DrainTimeout, DefaultDrainTimeout), errc: make(chan error, 2)}
	s.http = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// No WriteTimeout: net/http would count it from the request's arrival, so a request that waited for a
		// database connection or ran a long statement would lose its answer. The API bounds that wait with the
		// request's deadline (REQUEST_TIMEOUT), and every response from its first byte and again at every write
		// of a streamed read (WRITE_TIMEOUT).
		WriteTimeout: 0,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	var adminLn net.Listener
	if cfg.AdminAddr != "" {
		if adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			return nil, fmt.Errorf("ADMIN_LISTEN_ADDR: %w", err)
		}
		listeners = append(listeners, adminLn)
		s.adminAddr = adminLn.Addr().String()
		s.admin = &http.Server{
			Handler:           api.AdminHandler(reg),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
	}

	// LISTEN before serving, so that no reload announced after start-up is missed; a failure here is retried in
	// the background.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopListen = stop
	listenURL := cmp.Or(cfg.ListenURL, cfg.DatabaseURL)
	first, err := s.subscribe(lctx, listenURL)
	if err != nil {
		logger.Warn("listening for notifications failed; retrying", "err", err)
	}
	go func() { s.errc <- s.http.Serve(ln) }()
	if s.admin != nil {
		go func() {
			if err := s.admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errc <- err
			}
		}()
		logger.Info("admin listener serving /metrics, /healthz and /readyz", "addr", s.adminAddr)
	}
	go s.listen(lctx, listenURL, first)
	ok = true
	logger.Info("serving", "addr", s.addr, "base_path", cfg.API.BasePath, "tables", len(model.Tables))
	return s, nil
}

// Addr is the API's address, with the port the kernel chose for port 0.
func (s *Server) Addr() string { return s.addr }

// AdminAddr is the admin listener's address; "" when there is none.
func (s *Server) AdminAddr() string { return s.adminAddr }

// Tenancy is the tenancy the API serves: the declaration's, with the tenant header in force.
func (s *Server) Tenancy() schema.Tenancy { return s.tenancy }

// Reload re-reads the schema from the database and drops the registry caches. On an error the previous schema
// stays in service; the error is logged and counted.
func (s *Server) Reload(ctx context.Context) {
	m, err := introspect.Load(ctx, s.pool, s.tenancy)
	s.api.SchemaReloaded(err)
	if err != nil {
		s.logger.Error("schema reload failed; still serving the previous schema", "err", err)
		return
	}
	s.api.SetModel(m)
	s.resolver.Invalidate()
	s.logger.Info("schema reloaded", "tables", len(m.Tables))
}

// subscribe opens a connection that LISTENs on the reload channel.
func (s *Server) subscribe(ctx context.Context, url string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ReloadChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// listen reloads on NOTIFY pgtenant, 'reload' and drops the registry caches on any other payload, reconnecting
// when the connection drops. After a reconnect it reloads both, since notifications may have been missed.
func (s *Server) listen(ctx context.Context, url string, conn *pgx.Conn) {
	for ctx.Err() == nil {
		var err error
		if conn == nil {
			if conn, err = s.subscribe(ctx, url); err == nil {
				s.Reload(ctx)
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
					s.Reload(ctx)
				} else {
					s.resolver.Invalidate()
				}
			}
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
		}
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("listening for notifications failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// Wait serves until ctx ends, reloading the schema (Reload) at every value from reload, then drains: /readyz
// answers 503 and the listeners close, and Wait returns once the requests in flight are answered, or with an
// error after the drain timeout. It returns early with the error of a listener that fails.
func (s *Server) Wait(ctx context.Context, reload <-chan os.Signal) error {
	for {
		select {
		case <-reload:
			s.Reload(ctx)
		case err := <-s.errc:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		case <-ctx.Done():
			s.logger.Info("shutting down: draining in-flight requests")
			s.api.SetDraining(true) // /readyz answers 503 from now on
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.drain)
			defer cancel()
			if err := s.http.Shutdown(sctx); err != nil {
				return err
			}
			if s.admin != nil {
				_ = s.admin.Shutdown(sctx)
			}
			return nil
		}
	}
}

// Close stops serving at once, without draining, and closes the pool and the LISTEN connection.
func (s *Server) Close() {
	s.stopListen()
	_ = s.http.Close()
	if s.admin != nil {
		_ = s.admin.Close()
	}
	s.pool.Close()
}
