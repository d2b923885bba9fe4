package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// response is what a handler returns when it succeeds, as handlers of
// Prometheus's web/api/v1 return their data: the status and headers, and
// the body, which render, the one writer, sends.
type response struct {
	status int
	header http.Header // set on the answer as they are; nil: none
	// media is the Content-Type of body; "" when the answer has no body (a
	// write without return=representation).
	media string
	body  []byte
	// unsized sends body without a Content-Length (chunked once it is
	// large), as the OpenAPI document has always been sent.
	unsized bool
	// stream, when set, produces the body itself (a streamed read, stream.go).
	// It calls head once, with the status and headers, before its first
	// byte. An error it returns before that gets the error answer; one after
	// it cuts the answer off, so that the client sees a broken response
	// rather than a short one.
	stream func(w http.ResponseWriter, head func(*response)) error
}

// handler is an endpoint: the answer to r, or why there is none. Its errors
// become their status and body in writeError.
type handler func(r *http.Request) (*response, error)

// handle adapts h to net/http: render writes what it returns.
func (s *Server) handle(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := h(r)
		s.render(w, r, resp, err)
	})
}

// render is the one writer of the API's answers: resp, or err (with the
// headers resp carries, such as the Content-Range of a 416).
func (s *Server) render(w http.ResponseWriter, r *http.Request, resp *response, err error) {
	if err != nil {
		if resp != nil {
			setHeader(w, resp.header)
		}
		s.writeError(w, r, err)
		return
	}
	if resp.stream != nil {
		begun := false
		err := resp.stream(w, func(h *response) {
			begun = true
			s.writeHead(w, h)
		})
		switch {
		case err != nil && !begun:
			s.writeError(w, r, err)
		case err != nil:
			s.cfg.Logger.Warn("response cut off", "request_id", requestIDFrom(r.Context()), "err", err.Error())
			panic(http.ErrAbortHandler)
		}
		return
	}
	if resp.media != "" && !resp.unsized && r.Method != http.MethodHead {
		// A HEAD's statement builds no body, so the length GET would send is
		// unknown, and RFC 9110 section 8.6 allows no other value.
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	s.writeHead(w, resp)
	if resp.media != "" && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

// writeHead sends resp's status and headers.
func (s *Server) writeHead(w http.ResponseWriter, resp *response) {
	setHeader(w, resp.header)
	if resp.media != "" {
		w.Header().Set("Content-Type", resp.media)
	}
	w.WriteHeader(resp.status)
}

func setHeader(w http.ResponseWriter, h http.Header) {
	for k, v := range h {
		w.Header()[k] = v
	}
}

// writeError writes err as a JSON error body with the status statusOf gives
// it. 5xx details go to the log only, with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.errorFor(err)
	status := e.status()
	if status >= 500 {
		s.cfg.Logger.Error("request failed", "request_id", requestIDFrom(r.Context()), "status", status, "err", err.Error())
	}
	if e.typ == errorUnavailable {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", contentJSON)
	if e.typ != errorUnsatisfiable {
		w.Header().Del("Content-Range") // a 416 keeps */total, as PostgREST sends it
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
