package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/header"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// The media types a response can take.
const (
	mediaJSON = "application/json"
	// contentJSON is the Content-Type of every JSON body the server writes.
	contentJSON = mediaJSON + "; charset=utf-8"
	mediaObject = "application/vnd.pgrst.object+json"
	mediaCSV    = "text/csv"
	mediaOpen   = "application/openapi+json"
)

// authorize resolves the request's credential and tenant and the database
// role it acts as. Refusals are recorded for the audit log line.
//
// An address that made too many failed authentications (AuthFailures) is
// refused first, before its credential is read: 429, no database work.
func (s *Server) authorize(r *http.Request) (tenant.Binding, *schema.Role, error) {
	st := stateFrom(r.Context())
	addr := clientAddress(r, s.cfg.TrustedProxies)
	if over, wait := s.auth.over(addr, time.Now()); over {
		return tenant.Binding{}, nil, s.authThrottled(wait)
	}
	b, err := s.cfg.Resolver.Resolve(r)
	if err != nil {
		st.refusal = refusalReason(err)
		if errors.Is(err, tenant.ErrBadCredential) {
			st.reason = err
			s.auth.failed(addr, time.Now())
		}
		return b, nil, err
	}
	st.binding = &b
	for _, role := range s.cfg.Roles {
		if role.Name == b.Credential.Role {
			// Rate limits apply once the tenant is known, before any query.
			if err := s.rateLimit(b.Tenant); err != nil {
				return b, nil, err
			}
			return b, role, nil
		}
	}
	st.refusal = "role not served"
	return b, nil, apiError{status: http.StatusForbidden, Code: "PGT014",
		Message: "the credential's role is not one this server serves"}
}

// refusalReasons are the bounded labels for why a request was refused.
var refusalReasons = []struct {
	err    error
	reason string
}{
	{tenant.ErrNoCredential, "no credential"}, {tenant.ErrBadCredential, "bad credential"},
	{tenant.ErrDuplicateCredential, "duplicate credential"}, {tenant.ErrNoTenant, "no tenant"},
	{tenant.ErrTenantRefused, "tenant refused"}, {tenant.ErrDuplicateTenant, "duplicate tenant header"},
	{tenant.ErrMalformedTenant, "malformed tenant header"},
}

// refusalReason is a bounded label for why a request was refused.
func refusalReason(err error) string {
	for _, c := range refusalReasons {
		if errors.Is(err, c.err) {
			return c.reason
		}
	}
	return "registry unavailable"
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.handleMethodNotAllowed(w, r)
		return
	}
	_, role, err := s.authorize(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOpenAPI(w, r, role)
}

// handleTable serves GET, HEAD, POST, PATCH and DELETE on one table.
func (s *Server) handleTable(w http.ResponseWriter, r *http.Request) {
	if len(r.RequestURI) > s.cfg.MaxURLBytes {
		s.writeError(w, r, apiError{status: http.StatusRequestURITooLong, Code: codeURLTooLong,
			Message: fmt.Sprintf("the request target is longer than %d bytes", s.cfg.MaxURLBytes)})
		return
	}
	b, role, err := s.authorize(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := s.Model()
	name := mux.Vars(r)["table"]
	t := m.Table(name)
	if t == nil {
		s.writeError(w, r, unknownTable(m, name))
		return
	}
	req, err := s.parseRequest(r, m, t, b)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := query.Parse(req.Request)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Streams() {
		s.stream(w, r, req, q, b, role)
		return
	}
	res, err := s.execute(r.Context(), req, q, b, role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, q, res)
}

// request is a parsed HTTP request: the grammar's input plus what only the
// HTTP layer needs.
type request struct {
	query.Request
	media string // the response media type
}

func unknownTable(m *schema.Model, name string) apiError {
	e := apiError{status: http.StatusNotFound, Code: "PGRST205",
		Message: fmt.Sprintf("Could not find the table '%s.%s' in the schema cache", ddl.Schema, name)}
	names := make([]string, len(m.Tables))
	for i, t := range m.Tables {
		names[i] = t.Name
	}
	if best := schema.Suggest(name, names); best != "" {
		e.Hint = str(fmt.Sprintf("Perhaps you meant the table '%s.%s'", ddl.Schema, best))
	}
	return e
}

// parseRequest reads headers and body into the grammar's input.
func (s *Server) parseRequest(r *http.Request, m *schema.Model, t *schema.Table, b tenant.Binding) (*request, error) {
	if err := checkProfile(r); err != nil {
		return nil, err
	}
	media, err := negotiate(r.Header.Values("Accept"))
	if err != nil {
		return nil, err
	}
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	prefer, err := query.ParsePrefer(r.Header.Values("Prefer"))
	if err != nil {
		return nil, err
	}
	rng, err := query.ParseRange(r.Header.Get("Range"))
	if err != nil {
		return nil, err
	}
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if body, err = s.readBody(r); err != nil {
			return nil, err
		}
	}
	tenantID := b.Tenant.ID
	if t.Shared {
		tenantID = ""
	}
	return &request{media: media, Request: query.Request{
		Model: m, Table: t, Method: r.Method, Params: params, Prefer: prefer, Range: rng, Body: body,
		Tenant: tenantID, MaxRows: s.cfg.MaxRows, Singular: media == mediaObject, CSV: media == mediaCSV,
		Limits: s.cfg.Limits,
	}}, nil
}

// parseQuery decodes the query string the form way ('+' is a space), as
// postgrest-js encodes it with URLSearchParams.
func parseQuery(raw string) (map[string][]string, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, apiError{status: http.StatusBadRequest, Code: "PGRST100",
			Message: "the query string is not valid URL encoding", Details: str(err.Error())}
	}
	return v, nil
}

// checkProfile accepts Accept-Profile and Content-Profile only when they
// name the one exposed schema.
func checkProfile(r *http.Request) error {
	for _, h := range []string{"Accept-Profile", "Content-Profile"} {
		if v := r.Header.Get(h); v != "" && v != ddl.Schema {
			return apiError{status: http.StatusNotAcceptable, Code: "PGRST106",
				Message: "The schema must be one of the following: " + ddl.Schema,
				Hint:    str("only the " + ddl.Schema + " schema is exposed")}
		}
	}
	return nil
}

// negotiate picks the response media type from Accept, as PostgREST does:
// the first acceptable type in the header's order.
func negotiate(values []string) (string, error) {
	ranges := header.List(values)
	if len(ranges) == 0 {
		return mediaJSON, nil
	}
	for _, rg := range ranges {
		mt, _, err := header.MediaType(rg)
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaJSON, "application/vnd.pgrst.array+json":
			return mediaJSON, nil
		case mediaObject, "application/vnd.pgrst.object":
			return mediaObject, nil
		case mediaCSV, "text/*":
			return mediaCSV, nil
		}
	}
	return "", apiError{status: http.StatusNotAcceptable, Code: "PGRST107",
		Message: "None of these media types are available: " + strings.Join(ranges, ", ")}
}

// readBody reads a JSON request body within the size limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := header.MediaType(ct)
		if err != nil || (mt != mediaJSON && mt != "application/vnd.pgrst.object+json" && mt != "application/vnd.pgrst.array+json") {
			return nil, apiError{status: http.StatusUnsupportedMediaType, Code: "PGRST107",
				Message: "The request's Content-Type must be application/json, not " + ct}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, apiError{status: http.StatusRequestEntityTooLarge, Code: codeBodyTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	case err != nil && r.Context().Err() != nil:
		return nil, r.Context().Err()
	case err != nil:
		// The client's connection broke under its body: a socket error that
		// must not read as the database's (isConnectionError).
		return nil, apiError{status: http.StatusBadRequest, Code: "PGRST102",
			Message: "the request body could not be read to its end"}
	}
	return body, nil
}

// execute runs the statement in one tenant-scoped transaction. A plain
// request is one round trip (pgtx.QueryRow); one whose outcome must be
// checked before it may commit (tx=rollback, strict max-affected, a singular
// write) runs in an explicit transaction. A write also appends its record to pgtenant.audit_log
// (ddl.AuditInsert) in the batch pgtx sends anyway: same transaction, no
// extra round trip.
func (s *Server) execute(ctx context.Context, req *request, q *query.Query, b tenant.Binding, role *schema.Role) (*query.Result, error) {
	scope := s.scope(ctx, req, b, role)
	sql, args := q.SQL()
	res := &query.Result{}
	scan := func(row pgx.Row) error { return row.Scan(res.Dest()...) }
	strict := req.Prefer.HasMaxAffected && req.Prefer.Handling == "strict"
	if scope.ReadOnly || (req.Prefer.Tx != "rollback" && !strict && !req.Singular) {
		return res, s.cfg.Runner.QueryRow(ctx, scope, scan, sql, args...)
	}
	err := s.cfg.Runner.Tx(ctx, scope, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		if err := scan(tx.QueryRow(ctx, sql, args...)); err != nil {
			return false, err
		}
		if strict && res.PageTotal > req.Prefer.MaxAffected {
			return false, apiError{status: http.StatusBadRequest, Code: "PGRST124",
				Message: "Query result exceeds max-affected preference constraint",
				Details: str(fmt.Sprintf("The query affects %d rows", res.PageTotal))}
		}
		if req.Singular && res.PageTotal != 1 {
			return false, singularError(res.PageTotal)
		}
		return req.Prefer.Tx != "rollback", nil
	})
	return res, err
}

// scope is what a request's transaction is bound to: its tenant and role,
// read-only for GET and HEAD, and a write's audit record.
func (s *Server) scope(ctx context.Context, req *request, b tenant.Binding, role *schema.Role) pgtx.Scope {
	read := req.Method == http.MethodGet || req.Method == http.MethodHead
	scope := pgtx.Scope{Setting: s.tenancy.Setting, Tenant: b.Tenant.ID, Role: role.Name, ReadOnly: read,
		Timeout: s.cfg.StatementTimeout}
	// Without a tenant no write passes RLS, and a read-only role may not write: their write fails on its own
	// statement, and there is nothing to record (nor a privilege to record it with).
	if !read && b.Tenant.ID != "" && (role.Has(schema.Insert) || role.Has(schema.Update) || role.Has(schema.Delete)) {
		scope.Audit = &pgtx.Statement{SQL: ddl.AuditInsert,
			Args: []any{requestIDFrom(ctx), b.Credential.Name, role.Name, req.Method, req.Table.Name}}
	}
	return scope
}

func singularError(n int64) apiError {
	return apiError{status: http.StatusNotAcceptable, Code: "PGRST116",
		Message: "JSON object requested, multiple (or no) rows returned",
		Details: str(fmt.Sprintf("The result contains %d rows", n))}
}

// respond writes status, headers and body as PostgREST would.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, req *request, q *query.Query, res *query.Result) {
	h := w.Header()
	var applied []string
	p := req.Prefer
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		if req.Singular && res.PageTotal != 1 {
			s.writeError(w, r, singularError(res.PageTotal))
			return
		}
		first := q.Offset()
		// PostgREST's rangeStatus: only an offset past the total (an empty
		// table included) is unsatisfiable; an offset equal to it is an
		// empty page (206, */total).
		if res.Total != nil && first > *res.Total {
			h.Set("Content-Range", fmt.Sprintf("*/%d", *res.Total)) // as PostgREST: the size of the whole
			s.writeError(w, r, apiError{status: http.StatusRequestedRangeNotSatisfiable, Code: "PGRST103",
				Message: "Requested range not satisfiable",
				Details: str(fmt.Sprintf("An offset of %d was requested, but there are only %d rows.", first, *res.Total))})
			return
		}
		h.Set("Content-Range", contentRange(first, res.PageTotal, res.Total))
		status := http.StatusOK
		if res.Total != nil && (first > 0 || first+res.PageTotal < *res.Total) {
			status = http.StatusPartialContent
		}
		if p.Count != "" {
			applied = append(applied, "count="+p.Count)
		}
		s.writeBody(w, r, req, status, res.Body, applied)
	case http.MethodPost:
		status := http.StatusCreated
		if p.Resolution == "merge-duplicates" && res.Inserted == 0 && res.PageTotal > 0 {
			status = http.StatusOK
		}
		h.Set("Content-Range", "*/"+totalOrStar(res.PageTotal, p.Count != ""))
		s.writeWrite(w, r, req, status, res)
	case http.MethodPatch:
		if res.PageTotal > 0 {
			h.Set("Content-Range", fmt.Sprintf("0-%d/%s", res.PageTotal-1, totalOrStar(res.PageTotal, p.Count != "")))
		} else {
			h.Set("Content-Range", "*/"+totalOrStar(0, p.Count != ""))
		}
		s.writeWrite(w, r, req, http.StatusNoContent, res)
	case http.MethodDelete:
		h.Set("Content-Range", "*/"+totalOrStar(res.PageTotal, p.Count != ""))
		s.writeWrite(w, r, req, http.StatusNoContent, res)
	}
}

// writeWrite answers a write: the rows with return=representation, else no
// body (201 stays 201; 204 for PATCH and DELETE).
func (s *Server) writeWrite(w http.ResponseWriter, r *http.Request, req *request, status int, res *query.Result) {
	p := req.Prefer
	var applied []string
	for _, pref := range []struct{ name, value string }{
		{"return", p.Return}, {"resolution", p.Resolution}, {"missing", p.Missing}, {"count", p.Count}, {"tx", p.Tx},
	} {
		if pref.value != "" {
			applied = append(applied, pref.name+"="+pref.value)
		}
	}
	if p.HasMaxAffected && p.Handling == "strict" {
		applied = append(applied, "handling=strict", "max-affected="+strconv.FormatInt(p.MaxAffected, 10))
	}
	if p.Return == "representation" {
		if status == http.StatusNoContent {
			status = http.StatusOK
		}
		s.writeBody(w, r, req, status, res.Body, applied)
		return
	}
	if len(applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(applied, ", "))
	}
	w.WriteHeader(status)
}

// writeBody writes a body PostgreSQL built, without re-encoding it.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, req *request, status int, body []byte, applied []string) {
	h := w.Header()
	switch req.media {
	case mediaObject:
		h.Set("Content-Type", mediaObject+"; charset=utf-8")
	case mediaCSV:
		h.Set("Content-Type", mediaCSV+"; charset=utf-8")
	default:
		h.Set("Content-Type", contentJSON)
	}
	if len(applied) > 0 {
		h.Set("Preference-Applied", strings.Join(applied, ", "))
	}
	if r.Method == http.MethodHead {
		// The statement of a HEAD builds no body, so the length GET would
		// send is unknown, and RFC 9110 section 8.6 allows no other value.
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// contentRange is PostgREST's Content-Range of a read: first-last/total,
// */total for an empty page, total * when no count was asked for.
func contentRange(first, n int64, total *int64) string {
	t := "*"
	if total != nil {
		t = strconv.FormatInt(*total, 10)
	}
	if n == 0 {
		return "*/" + t
	}
	return fmt.Sprintf("%d-%d/%s", first, first+n-1, t)
}

func totalOrStar(n int64, counted bool) string {
	if counted {
		return strconv.FormatInt(n, 10)
	}
	return "*"
}
