package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	return b, nil, apiError{typ: errorForbidden, Code: "PGT014",
		Message: "the credential's role is not one this server serves"}
}

// authenticate resolves the request's credential, tenant and role
// (authorize) and hands them to next in the request's context, where
// handlers read them: tenant.FromContext and roleFrom. A refusal is answered
// here, before any handler runs.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, role, err := s.authorize(r)
		if err != nil {
			s.render(w, r, nil, err)
			return
		}
		ctx := context.WithValue(tenant.NewContext(r.Context(), b), roleKey{}, role)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type roleKey struct{}

// roleFrom returns the declared role the request acts as, which authenticate
// put in ctx; nil outside it.
func roleFrom(ctx context.Context) *schema.Role {
	role, _ := ctx.Value(roleKey{}).(*schema.Role)
	return role
}

// limitTarget refuses a request target longer than MaxURLBytes (414), before
// its credential is read.
func (s *Server) limitTarget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > s.cfg.MaxURLBytes {
			s.render(w, r, nil, apiError{typ: errorURITooLong, Code: codeURLTooLong,
				Message: fmt.Sprintf("the request target is longer than %d bytes", s.cfg.MaxURLBytes)})
			return
		}
		next.ServeHTTP(w, r)
	})
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

func (s *Server) handleOpenAPI(r *http.Request) (*response, error) {
	body, err := json.Marshal(s.openAPI(s.served.Load(), roleFrom(r.Context())))
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK, media: "application/openapi+json; charset=utf-8", body: body,
		unsized: true}, nil
}

// handleTable serves GET, HEAD, POST, PATCH and DELETE on one table, for the
// tenant and role authenticate put in the context.
func (s *Server) handleTable(r *http.Request) (*response, error) {
	ctx := r.Context()
	b, _ := tenant.FromContext(ctx)
	role := roleFrom(ctx)
	sv := s.served.Load()
	m := sv.model
	name := mux.Vars(r)["table"]
	t := m.Table(name)
	if t == nil {
		v := m.View(name)
		if v == nil {
			return nil, unknownTable(m, name)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return &response{header: http.Header{"Allow": {"GET, HEAD"}}}, apiError{typ: errorMethodNotAllowed,
				Code: codeMethodNotAllowed, Message: "method " + r.Method + " is not allowed on the view " + name,
				Hint: str("views are read-only: write to the tables underneath")}
		}
		t = viewTable(v)
	}
	req, err := s.parseRequest(r, sv, t, b)
	if err != nil {
		return nil, err
	}
	q, err := query.Parse(req.Request)
	if err != nil {
		return nil, err
	}
	if q.Streams() {
		return s.stream(ctx, req, q, b, role), nil
	}
	res, err := s.execute(ctx, req, q, b, role)
	if err != nil {
		return nil, err
	}
	resp, rules, err := respondRows(q, res)
	if err != nil {
		return resp, err
	}
	if rules.Body {
		resp.media, resp.body = contentType(req.media), res.Body
	}
	return resp, nil
}

// respondRows is the status and headers PostgREST's rules give q's result res (query.Respond), with the rules; the
// caller adds the body. On an error (a cardinality, a range), resp still carries the headers.
func respondRows(q *query.Query, res *query.Result) (*response, query.Response, error) {
	rules, err := query.Respond(q.Facts(), *res)
	resp := &response{status: rules.Status, header: http.Header{}}
	if rules.ContentRange != "" {
		resp.header.Set("Content-Range", rules.ContentRange)
	}
	if rules.PreferenceApplied != "" {
		resp.header.Set("Preference-Applied", rules.PreferenceApplied)
	}
	return resp, rules, err
}

// contentType is the Content-Type of a body of the media type media.
func contentType(media string) string {
	switch media {
	case mediaObject:
		return mediaObject + "; charset=utf-8"
	case mediaCSV:
		return mediaCSV + "; charset=utf-8"
	}
	return contentJSON
}

// request is a parsed HTTP request: the grammar's input plus what only the
// HTTP layer needs.
type request struct {
	query.Request
	media string // the response media type
}

func unknownTable(m *schema.Model, name string) apiError {
	e := apiError{typ: errorNotFound, Code: "PGRST205",
		Message: fmt.Sprintf("Could not find the table '%s.%s' in the schema cache", ddl.Schema, name)}
	names := make([]string, 0, len(m.Tables)+len(m.Views))
	for _, t := range m.Tables {
		names = append(names, t.Name)
	}
	for _, v := range m.Views {
		names = append(names, v.Name)
	}
	if best := schema.Suggest(name, names); best != "" {
		e.Hint = str(fmt.Sprintf("Perhaps you meant the table '%s.%s'", ddl.Schema, best))
	}
	return e
}

// requestHeaders is what a table's or a function's request says in its headers and query string.
type requestHeaders struct {
	media  string // the response media type
	params url.Values
	prefer query.Prefer
	rng    *query.Range
}

// readHeaders reads the profile, Accept, the query string, Prefer and Range of r.
func readHeaders(r *http.Request) (h requestHeaders, err error) {
	if err = checkProfile(r); err != nil {
		return h, err
	}
	if h.media, err = negotiate(r.Header.Values("Accept")); err != nil {
		return h, err
	}
	if h.params, err = parseQuery(r.URL.RawQuery); err != nil {
		return h, err
	}
	if h.prefer, err = query.ParsePrefer(r.Header.Values("Prefer")); err != nil {
		return h, err
	}
	h.rng, err = query.ParseRange(r.Header.Get("Range"))
	return h, err
}

// parseRequest reads headers and body into the grammar's input.
func (s *Server) parseRequest(r *http.Request, sv *served, t *schema.Table, b tenant.Binding) (*request, error) {
	h, err := readHeaders(r)
	if err != nil {
		return nil, err
	}
	media, params, prefer, rng := h.media, h.params, h.prefer, h.rng
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if body, err = s.readBody(r); err != nil {
			return nil, err
		}
	}
	// A shared table's read carries the tenant too: the tenant tables it embeds are read for it (without one
	// they have no rows).
	return &request{media: media, Request: query.Request{
		Model: sv.model, Table: t, Method: r.Method, Params: params, Prefer: prefer, Range: rng, Body: body,
		Tenant: b.Tenant.ID, MaxRows: s.cfg.MaxRows, Singular: media == mediaObject, CSV: media == mediaCSV,
		Limits: s.cfg.Limits, Relationships: sv.rels,
	}}, nil
}

// parseQuery decodes the query string the form way ('+' is a space), as
// postgrest-js encodes it with URLSearchParams.
func parseQuery(raw string) (map[string][]string, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, apiError{typ: errorBadRequest, Code: "PGRST100",
			Message: "the query string is not valid URL encoding", Details: str(err.Error())}
	}
	return v, nil
}

// checkProfile accepts Accept-Profile and Content-Profile only when they
// name the one exposed schema.
func checkProfile(r *http.Request) error {
	for _, h := range []string{"Accept-Profile", "Content-Profile"} {
		if v := r.Header.Get(h); v != "" && v != ddl.Schema {
			return apiError{typ: errorNotAcceptable, Code: "PGRST106",
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
	return "", apiError{typ: errorNotAcceptable, Code: "PGRST107",
		Message: "None of these media types are available: " + strings.Join(ranges, ", ")}
}

// readBody reads a JSON request body within the size limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := header.MediaType(ct)
		if err != nil || (mt != mediaJSON && mt != "application/vnd.pgrst.object+json" && mt != "application/vnd.pgrst.array+json") {
			return nil, apiError{typ: errorUnsupportedMedia, Code: "PGRST107",
				Message: "The request's Content-Type must be application/json, not " + ct}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, apiError{typ: errorTooLarge, Code: codeBodyTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	case err != nil && r.Context().Err() != nil:
		return nil, r.Context().Err()
	case err != nil:
		// The client's connection broke under its body: a socket error that
		// must not read as the database's (isConnectionError).
		return nil, apiError{typ: errorBadRequest, Code: "PGRST102",
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
	facts := q.Facts()
	err := s.cfg.Runner.Tx(ctx, scope, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		if err := scan(tx.QueryRow(ctx, sql, args...)); err != nil {
			return false, err
		}
		if err := facts.Commit(*res); err != nil {
			return false, err
		}
		return req.Prefer.Tx != "rollback", nil
	})
	return res, err
}

// scope is what a request's transaction is bound to: its tenant and role,
// read-only for GET and HEAD, and a write's audit record.
func (s *Server) scope(ctx context.Context, req *request, b tenant.Binding, role *schema.Role) pgtx.Scope {
	read := req.Method == http.MethodGet || req.Method == http.MethodHead
	return s.scopeOf(ctx, read, req.Method, req.Table.Name, b, role)
}

// scopeOf is the scope of a request with method on target (a table, or rpc/<function>): read-only when read, else
// with the audit record of a write.
func (s *Server) scopeOf(ctx context.Context, read bool, method, target string, b tenant.Binding, role *schema.Role) pgtx.Scope {
	scope := pgtx.Scope{Setting: s.tenancy.Setting, Tenant: b.Tenant.ID, Role: role.Name, ReadOnly: read,
		Timeout: s.cfg.StatementTimeout, Citus: s.tenancy.Citus()}
	// Without a tenant no write passes RLS, and a read-only role may not write: their write fails on its own
	// statement, and there is nothing to record (nor a privilege to record it with).
	if !read && b.Tenant.ID != "" && (role.Has(schema.Insert) || role.Has(schema.Update) || role.Has(schema.Delete)) {
		scope.Audit = &pgtx.Statement{SQL: ddl.AuditInsert,
			Args: []any{requestIDFrom(ctx), b.Credential.Name, role.Name, method, target}}
	}
	return scope
}
