package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/rs/cors"
)

// routes wires every endpoint. Middleware runs outermost first: request id,
// cache headers, logging, recovery, the Transfer-Encoding refusal, the
// request's deadline, CORS, then the route; a table's route then checks the
// target's length and authenticates (credential, tenant, role into the
// context) before its handler runs. Recovery runs inside logging, so that a
// request whose handler panics still writes its line and counts in the
// metrics, with the 500 it got.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = s.handle(s.handleNotFound)
	r.MethodNotAllowedHandler = s.handle(s.handleMethodNotAllowed)
	base := strings.TrimSuffix(s.cfg.BasePath, "/")
	api := r.PathPrefix(base).Subrouter()
	api.NotFoundHandler = r.NotFoundHandler
	api.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	api.Use(s.recordRoute)
	// No Methods matcher here: with one, gorilla/mux v1.8.1 answers
	// POST {base}/ with the not-found handler instead of the
	// method-not-allowed one, so readsOnly refuses other methods itself.
	openAPI := s.readsOnly(s.authenticate(s.handle(s.handleOpenAPI)))
	api.Handle("/", openAPI)
	api.Handle("", openAPI) // {base} answers as {base}/ does
	api.Handle("/rpc/{function}", s.limitTarget(s.authenticate(s.handle(s.handleRPC))))
	api.Handle("/{table}", s.limitTarget(s.authenticate(s.handle(s.handleTable)))).
		Methods(http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete)

	var h http.Handler = r
	// rs/cors treats an empty origin list as "any origin": no configured
	// origin must mean no CORS at all.
	if len(s.cfg.CORSOrigins) > 0 {
		h = cors.New(s.corsOptions()).Handler(r)
	}
	return s.requestID(s.cacheHeaders(s.logRequests(s.recoverer(s.refuseTransferCoding(s.deadline(h))))))
}

// deadline gives every request RequestTimeout to get its answer from the
// database: the tenant's resolution, the wait for a pool connection and the
// statement all end with it (504 PGT504), so that no request waits forever
// for a connection when the pool is exhausted. Writing the answer to the
// client is bounded by WriteTimeout instead: a streamed read releases its
// connection once PostgreSQL has sent the last row (stream.go), and the
// client then reads at its own pace, however long a large answer takes.
func (s *Server) deadline(next http.Handler) http.Handler {
	if s.cfg.RequestTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// readsOnly refuses every method but GET and HEAD (405).
func (s *Server) readsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.handle(s.handleMethodNotAllowed).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseTransferCoding refuses every request whose body has a transfer
// coding (Transfer-Encoding: chunked), with 400 PGT032 and Connection: close,
// so that nothing after it on the connection is ever read as a request.
//
// RFC 9112 §6.1 lets a server reject a request with both Content-Length and
// Transfer-Encoding, and requires it to close the connection after answering
// one: a proxy in front that frames the body by Content-Length would forward
// a second request hidden inside it (request smuggling). Go's server drops
// the Content-Length header of such a request before any handler sees it,
// so the two cannot be told apart here; and no client of this API needs a
// chunked body (postgrest-js, fetch with a string body and curl -d all send
// Content-Length). So any transfer coding is refused.
func (s *Server) refuseTransferCoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		// With this header net/http closes the connection once the answer
		// is written, without reading the rest of the body or another request.
		w.Header().Set("Connection", "close")
		s.writeError(w, r, errTransferCoding)
	})
}

// cacheHeaders marks every answer as not to be kept by caches
// (Config.CacheControl) and names in Vary the request headers an answer
// depends on: the credential, the tenant, the media type, the preferences
// and the range. It runs outside CORS, which appends Origin to the same Vary.
// Set before the handler runs, they are on errors and on panics' 500s too.
func (s *Server) cacheHeaders(next http.Handler) http.Handler {
	vary := strings.Join([]string{"Authorization", s.tenancy.Header, "Accept", "Prefer", "Range"}, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", s.cfg.CacheControl)
		h.Add("Vary", vary)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) corsOptions() cors.Options {
	return cors.Options{
		AllowedOrigins: s.cfg.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "Prefer", "Range", "Accept-Profile",
			"Content-Profile", s.tenancy.Header, "X-Client-Info", "X-Retry-Count", "X-Request-ID"},
		ExposedHeaders: []string{"Content-Range", "Content-Location", "Location", "Preference-Applied", "X-Request-ID"},
		MaxAge:         600,
	}
}

func (s *Server) handleNotFound(*http.Request) (*response, error) {
	return nil, apiError{typ: errorNotFound, Code: "PGRST125",
		Message: "no such path; the API lives under " + s.cfg.BasePath}
}

func (s *Server) handleMethodNotAllowed(r *http.Request) (*response, error) {
	return nil, apiError{typ: errorMethodNotAllowed, Code: codeMethodNotAllowed,
		Message: "method " + r.Method + " is not allowed here"}
}
