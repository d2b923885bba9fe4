// Package httpapi serves the PostgREST-compatible HTTP API: routes, the
// request pipeline and the one writer of its answers.
//
// A request passes middleware (request id, cache headers, logging,
// recovery, the Transfer-Encoding refusal, its deadline, CORS), then its
// route's: authenticate resolves the credential, tenant and role and puts
// them in the request's context (tenant.FromContext, roleFrom). A handler
// reads them there, turns the request into a query (engine/query), runs it
// in one tenant-scoped transaction (a Runner, engine/pgtx) and returns a
// value, (response, error), as Prometheus's web/api/v1 handlers do; the
// status and headers of a table's answer come from query.Respond. render
// writes every answer; writeError every error, with the status statusOf,
// the one table of error statuses, gives it.
//
// It may import every engine package, gorilla/mux, Prometheus and slog.
// engine/server, which builds it and runs its listeners, and cmd, which fills
// its Config, import it; nothing else does (internal/layout). It never holds
// a pool: tenant data is reached only through a pgtx.Runner.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// Config is what the server needs; cmd fills it from the configuration.
type Config struct {
	BasePath         string           // e.g. /api/v1
	Tenancy          schema.Tenancy   // the tenant column, setting and header
	Roles            []*schema.Role   // the declared roles: a credential may act only as one of these
	Runner           Runner           // the only door to tenant data: a *pgtx.Runner
	Resolver         *tenant.Resolver // credentials and tenants
	Logger           *slog.Logger
	MaxRows          int           // cap on rows per read; 0 = none
	StatementTimeout time.Duration // statement_timeout of every request's transaction
	// RequestTimeout is every request's deadline for getting its answer from
	// the database: resolving the tenant, waiting for a pool connection and
	// the statement (504 PGT504 when it passes). 0: none.
	RequestTimeout time.Duration
	MaxBodyBytes   int64    // request bodies larger than this get 413
	MaxURLBytes    int      // request targets longer than this get 414
	CORSOrigins    []string // allowed browser origins; "*" allows any
	// CacheControl is the Cache-Control of every answer of the API; empty:
	// DefaultCacheControl. cmd validates it.
	CacheControl string
	Limits       query.Limits
	// Metrics is where the Prometheus series are registered; nil: a private
	// registry nobody scrapes.
	Metrics prometheus.Registerer
	// PoolStats reads the pool's statistics for the pool series; nil: none.
	// Only statistics: the server never queries through the pool.
	PoolStats func() *pgxpool.Stat
	// Ping tells /readyz whether the database answers; nil: always ready.
	Ping      func(context.Context) error
	RateLimit RateLimit // the default per-tenant rate limit
	// AuthFailures limits failed authentications per client address; the
	// zero value: no limit.
	AuthFailures AuthFailureLimit
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// address that AuthFailures counts against; none: the TCP peer's.
	TrustedProxies []netip.Prefix
	// WriteTimeout bounds how long writing a response may make no progress
	// (a client that reads nothing): the response is then given up. 0: none.
	WriteTimeout time.Duration
	// SpoolDir is where a streamed read's rows wait for a slow client once
	// they outgrow memory (spool.go); "": os.TempDir().
	SpoolDir    string
	SlowRequest time.Duration // requests slower than this are logged at warn; 0: never
	// Version is the version pgtenant_build_info reports; "": the main module's version that Go recorded.
	Version string
}

// DefaultCacheControl is the Cache-Control of every answer of the API unless
// configured otherwise: the answers carry one tenant's data (or a refusal
// about it), which no cache may keep, a shared one least of all.
const DefaultCacheControl = "private, no-store"

// Runner runs a request's statement in a transaction bound to its tenant.
// *pgtx.Runner is the one used in production; the benchmarks of request
// handling use a fake, to measure the server without a database.
type Runner interface {
	// QueryRow runs sql in one round trip and scans its first row.
	QueryRow(ctx context.Context, s pgtx.Scope, scan func(pgx.Row) error, sql string, args ...any) error
	// Query runs sql in one round trip and hands fn its rows as they arrive.
	Query(ctx context.Context, s pgtx.Scope, fn func(pgx.Rows) error, sql string, args ...any) error
	// Tx runs fn in an explicit transaction that commits when fn says so.
	Tx(ctx context.Context, s pgtx.Scope, fn func(ctx context.Context, tx pgx.Tx) (commit bool, err error)) error
}

// Server is the API. Its schema can be replaced while it serves (reload).
type Server struct {
	cfg      Config
	tenancy  schema.Tenancy
	served   atomic.Pointer[served]
	handler  http.Handler
	metrics  *metrics
	limits   *limiters
	auth     *authLimiter
	draining atomic.Bool
}

// New returns a Server serving model, the introspected schema.
func New(cfg Config, model *schema.Model) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxURLBytes <= 0 {
		cfg.MaxURLBytes = 8 << 10
	}
	if cfg.CacheControl == "" {
		cfg.CacheControl = DefaultCacheControl
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, tenancy: cfg.Tenancy, limits: newLimiters(cfg.RateLimit),
		auth: newAuthLimiter(cfg.AuthFailures)}
	s.metrics = newMetrics(cfg.Metrics, cfg.PoolStats, cfg.Version)
	s.SetModel(model)
	s.handler = s.routes()
	return s
}

// served is the schema a server serves and what is derived from it once per load, replaced together.
type served struct {
	model *schema.Model
	// rels are the relationships embeds may follow (query.ModelRelationships, then query.ViewRelationships),
	// derived once per load rather than per request.
	rels []query.Relationship
}

// SetModel replaces the served schema, for reloads.
func (s *Server) SetModel(m *schema.Model) {
	sv := &served{model: m}
	if m != nil {
		sv.rels = append(query.ModelRelationships(m), query.ViewRelationships(m)...)
	}
	s.served.Store(sv)
}

// Model returns the served schema.
func (s *Server) Model() *schema.Model { return s.served.Load().model }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
