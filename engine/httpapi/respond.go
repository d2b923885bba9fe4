package httpapi

import (
	"encoding/json"
	"net/http"
)

// writeError writes err as a JSON error body with its status. 5xx details go
// to the log only, with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.errorFor(err)
	if e.status >= 500 {
		s.cfg.Logger.Error("request failed", "request_id", requestIDFrom(r.Context()), "status", e.status, "err", err.Error())
	}
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", contentJSON)
	if e.status != http.StatusRequestedRangeNotSatisfiable {
		w.Header().Del("Content-Range") // a 416 keeps */total, as PostgREST sends it
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
