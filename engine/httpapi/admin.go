package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds the database ping of /readyz.
const readyTimeout = time.Second

// AdminHandler serves the admin listener: /metrics (the series of g),
// /healthz and /readyz. It belongs on a loopback or cluster-internal
// address, never next to the API.
func (s *Server) AdminHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeProbe(w, r, http.StatusOK, "ok", "")
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	return s.refuseTransferCoding(mux)
}

// SetDraining marks the server as shutting down: /readyz answers 503 from
// then on, so that load balancers stop sending requests.
func (s *Server) SetDraining(on bool) { s.draining.Store(on) }

// handleReady answers 200 when the database answers a ping within a second,
// a schema is loaded and the server is not draining; 503 otherwise.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.draining.Load():
		writeProbe(w, r, http.StatusServiceUnavailable, "draining", "the server is shutting down")
		return
	case s.Model() == nil:
		writeProbe(w, r, http.StatusServiceUnavailable, "unavailable", "no schema is loaded")
		return
	}
	if s.cfg.Ping != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.cfg.Ping(ctx); err != nil {
			s.cfg.Logger.Warn("readiness: the database does not answer", "err", err.Error())
			writeProbe(w, r, http.StatusServiceUnavailable, "unavailable", "the database does not answer")
			return
		}
	}
	writeProbe(w, r, http.StatusOK, "ok", "")
}

func writeProbe(w http.ResponseWriter, r *http.Request, status int, state, reason string) {
	body := map[string]string{"status": state}
	if reason != "" {
		body["reason"] = reason
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", contentJSON)
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
