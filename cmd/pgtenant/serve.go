package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/query"
	"pgtenant/engine/server"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

func cmdServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
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
	// The live heap of a serving process is a few MB, so Go's default (a collection each time the heap doubles)
	// collects hundreds of times a second under load. 400 cut that to a fifth and raised make bench's req/s by
	// about 7%, for about 12 MB more RSS under load (README "Performance"). GOGC, given as a flag or in the
	// environment (which Go's runtime has applied already), wins.
	gc := 400
	if sc.GOGC != "" {
		gc, _ = parseGOGC(sc.GOGC) // Validate checked it
	}
	debug.SetGCPercent(gc)
	srv, err := startServer(ctx, sc, model, logger)
	if err != nil {
		return fail(e, "serve", err)
	}
	defer srv.Close()
	fmt.Fprintf(e.stdout, "pgtenant serving %s on http://%s%s/ (metrics and probes on http://%s/)\n",
		e.cfg.PoliciesFile, srv.Addr(), sc.BasePath, srv.AdminAddr())
	return serveUntilDone(ctx, e, "serve", srv)
}

// startServer starts the API (engine/server) as the configuration says.
func startServer(ctx context.Context, cfg Config, declared *schema.Model, logger *slog.Logger) (*server.Server, error) {
	sc, err := cfg.serverConfig(declared, logger)
	if err != nil {
		return nil, err
	}
	return server.Start(ctx, sc, declared)
}

// serverConfig is what engine/server needs of the configuration; it reads JWT_JWKS_FILE.
func (c Config) serverConfig(declared *schema.Model, logger *slog.Logger) (server.Config, error) {
	jwtCfg, err := c.jwtConfig(declared.Roles)
	if err != nil {
		return server.Config{}, err
	}
	mode, err := parseExecMode(c.ExecMode)
	if err != nil {
		return server.Config{}, err
	}
	return server.Config{
		DatabaseURL: c.DatabaseURL, ListenURL: c.DatabaseListenURL, ExecMode: mode, PoolSize: c.PoolSize,
		Addr: c.ListenAddr, AdminAddr: c.AdminListenAddr, Logger: logger,
		Tenant: tenant.Config{Header: c.TenantHeader, Require: c.RequireTenant, DefaultTenant: c.DefaultTenant,
			TTL: c.CacheTTL, JWT: jwtCfg},
		API: httpapi.Config{
			BasePath: c.BasePath, MaxRows: c.MaxRows, StatementTimeout: c.StatementTimeout,
			RequestTimeout: c.RequestTimeout, MaxBodyBytes: c.MaxBodyBytes,
			CORSOrigins: c.CORSOrigins, CacheControl: c.CacheControl, Limits: query.Limits{MaxEmbedDepth: c.MaxEmbedDepth},
			RateLimit:    httpapi.RateLimit{RPS: c.RateLimitRPS, Burst: c.RateLimitBurst},
			AuthFailures: httpapi.AuthFailureLimit{RPS: c.AuthFailureRPS, Burst: c.AuthFailureBurst},
			WriteTimeout: c.WriteTimeout, TrustedProxies: c.TrustedProxies, SlowRequest: c.SlowRequestThreshold,
			SpoolDir: c.spoolDir(),
			Version:  readBuildInfo().Version,
		},
	}, nil
}

// serveUntilDone serves until ctx ends (SIGINT or SIGTERM, see main), reloading the schema on SIGHUP, then drains.
func serveUntilDone(ctx context.Context, e *env, verb string, srv *server.Server) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Wait(ctx, hup); err != nil {
		return fail(e, verb, err)
	}
	return exitOK
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
