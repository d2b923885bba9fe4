package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gorilla/mux"

	"pgtenant/engine/tenant"
)

type requestIDKey struct{}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,64}$`)

// requestID gives every request an id, taken from a sane X-Request-ID or
// made up, and returns it in the X-Request-ID response header (never in a
// body, so that equal refusals stay byte-identical).
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// recoverer turns a panic into a logged 500 with the generic error body.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.Error("panic", "request_id", requestIDFrom(r.Context()), "err", fmt.Sprint(v),
					"stack", string(debug.Stack()))
				s.writeError(w, r, apiError{typ: errorInternal, Code: codeInternal,
					Message: genericInternalMessage})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter records what a handler wrote, for the log line, and bounds
// how long writing the response may take: when the response begins (its
// status), the connection's write deadline is set writeTimeout ahead, so a
// client that reads nothing holds the handler (never a database connection:
// bodies are written after the transaction ends) for writeTimeout at most.
// The deadline starts with the response, not the request, so that time
// spent waiting for a database connection or on the statement does not
// count; a streamed read (stream.go) moves it on with every write.
type statusWriter struct {
	http.ResponseWriter
	status       int
	bytes        int64
	writeTimeout time.Duration
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.begin(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

// begin records the status and sets the write deadline.
func (w *statusWriter) begin(code int) {
	w.status = code
	if w.writeTimeout > 0 {
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.writeTimeout))
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.begin(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logState is filled in by the handler as it learns who the caller is.
type logState struct {
	binding *tenant.Binding
	refusal string
	reason  error  // why a credential was refused (a JWT's expiry, audience…): for the log, never the body
	route   string // the matched route's template, set by recordRoute; "" when none matched
}

type logStateKey struct{}

// logRequests writes one line per request: no row data, no bind values.
// Refused tenant access is logged at warn: it is the audit trail.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &logState{}
		sw := &statusWriter{ResponseWriter: w, writeTimeout: s.cfg.WriteTimeout}
		r = r.WithContext(context.WithValue(r.Context(), logStateKey{}, st))
		// Deferred, so that a response cut off (http.ErrAbortHandler, which
		// the recoverer lets through) is logged and counted too.
		defer s.logRequest(r, st, sw, start)
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes the line of one request and counts it.
func (s *Server) logRequest(r *http.Request, st *logState, sw *statusWriter, start time.Time) {
	elapsed := time.Since(start)
	route := "unmatched"
	if st.route != "" {
		route = st.route
	}
	level := slog.LevelInfo
	if st.refusal != "" || (s.cfg.SlowRequest > 0 && elapsed > s.cfg.SlowRequest) {
		level = slog.LevelWarn
	}
	s.metrics.observe(route, r.Method, sw.status, elapsed, st.refusal)
	if !s.cfg.Logger.Enabled(r.Context(), level) {
		return // the line would be dropped: build nothing
	}
	ip := r.RemoteAddr
	if addr, ok := clientIP(r, s.cfg.TrustedProxies); ok {
		ip = addr.String()
	}
	attrs := []any{"request_id", requestIDFrom(r.Context()), "method", r.Method, "route", route,
		"status", sw.status, "duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", sw.bytes,
		"client_ip", ip}
	if b := st.binding; b != nil {
		attrs = append(attrs, "tenant", b.Tenant.ID, "tenant_identifier", b.Tenant.Identifier,
			"credential", b.Credential.Name, "role", b.Credential.Role)
	}
	if st.refusal != "" {
		attrs = append(attrs, "refusal", st.refusal)
		if st.reason != nil {
			attrs = append(attrs, "err", st.reason.Error())
		}
	}
	if s.cfg.SlowRequest > 0 && elapsed > s.cfg.SlowRequest {
		attrs = append(attrs, "slow", true)
	}
	s.cfg.Logger.Log(r.Context(), level, "request", attrs...)
}

// recordRoute notes the matched route's template for the log line. It runs
// as router middleware because logRequests wraps the router: mux hands the
// matched route only to the request copy it passes on.
func (s *Server) recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cr := mux.CurrentRoute(r); cr != nil {
			if tpl, err := cr.GetPathTemplate(); err == nil {
				stateFrom(r.Context()).route = tpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

func stateFrom(ctx context.Context) *logState {
	if st, ok := ctx.Value(logStateKey{}).(*logState); ok {
		return st
	}
	return &logState{}
}
