package httpapi

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/rs/cors"
)

// routes wires every endpoint. Middleware runs outermost first: request id,
// logging, recovery, CORS, then the route. Recovery runs inside logging, so
// that a request whose handler panics still writes its line and counts in
// the metrics, with the 500 it got.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(s.handleNotFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.handleMethodNotAllowed)
	base := strings.TrimSuffix(s.cfg.BasePath, "/")
	api := r.PathPrefix(base).Subrouter()
	api.NotFoundHandler = r.NotFoundHandler
	api.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	api.Use(s.recordRoute)
	// No Methods matcher here: with one, gorilla/mux v1.8.1 answers
	// POST {base}/ with the not-found handler instead of the
	// method-not-allowed one, so handleOpenAPI refuses other methods itself.
	api.HandleFunc("/", s.handleOpenAPI)
	api.HandleFunc("", s.handleOpenAPI) // {base} answers as {base}/ does
	api.HandleFunc("/rpc/{function}", s.handleRPC)
	api.HandleFunc("/{table}", s.handleTable).
		Methods(http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete)

	var h http.Handler = r
	// rs/cors treats an empty origin list as "any origin": no configured
	// origin must mean no CORS at all.
	if len(s.cfg.CORSOrigins) > 0 {
		h = cors.New(s.corsOptions()).Handler(r)
	}
	return s.requestID(s.logRequests(s.recoverer(h)))
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

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apiError{status: http.StatusNotFound, Code: "PGRST125",
		Message: "no such path; the API lives under " + s.cfg.BasePath})
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apiError{status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed,
		Message: "method " + r.Method + " is not allowed here"})
}

func (s *Server) handleRPC(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apiError{status: http.StatusNotFound, Code: "PGRST202",
		Message: "no function " + mux.Vars(r)["function"] + " is exposed", Hint: str("pgtenant exposes tables only")})
}
