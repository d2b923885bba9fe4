// Package httpapi serves the PostgREST-compatible HTTP API: routes, the
// request pipeline (request id, recovery, logging, CORS, credentials and
// tenant, grammar, one tenant-scoped transaction) and the one function that
// turns errors into responses.
//
// It may import every engine package, gorilla/mux, Prometheus and slog; only
// cmd imports it. It never holds a pool: tenant data is reached only through
// a pgtx.Runner.
package httpapi

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

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
	Runner           *pgtx.Runner     // the only door to tenant data
	Resolver         *tenant.Resolver // credentials and tenants
	Logger           *slog.Logger
	MaxRows          int           // cap on rows per read; 0 = none
	StatementTimeout time.Duration // statement_timeout of every request's transaction
	MaxBodyBytes     int64         // request bodies larger than this get 413
	MaxURLBytes      int           // request targets longer than this get 414
	CORSOrigins      []string      // allowed browser origins; "*" allows any
	Limits           query.Limits
}

// Server is the API. Its schema can be replaced while it serves (reload).
type Server struct {
	cfg     Config
	tenancy schema.Tenancy
	model   atomic.Pointer[schema.Model]
	handler http.Handler
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
	s := &Server{cfg: cfg, tenancy: cfg.Tenancy}
	s.model.Store(model)
	s.handler = s.routes()
	return s
}

// SetModel replaces the served schema, for reloads.
func (s *Server) SetModel(m *schema.Model) { s.model.Store(m) }

// Model returns the served schema.
func (s *Server) Model() *schema.Model { return s.model.Load() }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
