package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// handleRPC serves {base}/rpc/<function> as PostgREST does: POST with a JSON object of arguments (or, with Prefer:
// params=single-object, the body as the one argument), GET and HEAD with the arguments in the query string for a
// STABLE or IMMUTABLE function. A function that returns rows of a served table or view is read with the read
// grammar (select, filters, order, limit, count, singular, CSV); any other result is sent as JSON (a scalar, an
// array of a set), and a void function answers 204. The call is one statement in the tenant's transaction (one round
// trip), read-only for GET, HEAD and any function that is not VOLATILE.
func (s *Server) handleRPC(r *http.Request) (*response, error) {
	ctx := r.Context()
	b, _ := tenant.FromContext(ctx)
	role := roleFrom(ctx)
	sv := s.served.Load()
	m := sv.model
	name := mux.Vars(r)["function"]
	f := m.Function(name)
	if f == nil {
		return nil, unknownFunction(m, name)
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case read && f.Volatility == schema.Volatile:
		return &response{header: http.Header{"Allow": {"POST"}}}, apiError{typ: errorMethodNotAllowed, Code: "25006",
			Message: "cannot execute the VOLATILE function " + name + " in a read-only transaction",
			Hint:    str("call it with POST")}
	case !read && r.Method != http.MethodPost:
		return nil, apiError{typ: errorMethodNotAllowed, Code: "PGRST101",
			Message: "For functions, only GET, HEAD and POST verbs are allowed"}
	}
	h, err := readHeaders(r)
	if err != nil {
		return nil, err
	}
	media, params, prefer, rng := h.media, h.params, h.prefer, h.rng
	t := resultTable(m, f)
	call, err := s.callOf(r, f, params, prefer, t != nil)
	if err != nil {
		return nil, err
	}
	scope := s.scopeOf(ctx, read || f.Volatility != schema.Volatile, r.Method, "rpc/"+name, b, role)
	if t == nil {
		return s.callValue(r, f, call, scope)
	}
	method := http.MethodGet
	if r.Method == http.MethodHead {
		method = http.MethodHead
	}
	q, err := query.Parse(query.Request{Model: m, Table: t, Method: method, Params: params, Prefer: prefer,
		Range: rng, Tenant: b.Tenant.ID, MaxRows: s.cfg.MaxRows, Singular: media == mediaObject || !f.Returns.SetOf,
		CSV: media == mediaCSV, Limits: s.cfg.Limits, Relationships: sv.rels, Call: call})
	if err != nil {
		return nil, err
	}
	sql, args := q.SQL()
	res := &query.Result{}
	err = s.cfg.Runner.QueryRow(ctx, scope, func(row pgx.Row) error { return row.Scan(res.Dest()...) }, sql, args...)
	if err != nil {
		return nil, err
	}
	resp, _, err := respondRows(q, res)
	if err != nil {
		return resp, err
	}
	resp.media, resp.body = contentType(media), res.Body
	if !f.Returns.SetOf && media == mediaJSON {
		resp.media = contentJSON // one row: PostgREST's object, as application/json
	}
	return resp, nil
}

// resultTable is the served table or view whose rows f returns, read as a table; nil for any other result.
func resultTable(m *schema.Model, f *schema.Function) *schema.Table {
	if f.Returns.Relation == "" {
		return nil
	}
	if t := m.Table(f.Returns.Relation); t != nil {
		return t
	}
	if v := m.View(f.Returns.Relation); v != nil {
		return viewTable(v)
	}
	return nil
}

// callOf reads the call's arguments: a POST's body, or the query string's parameters that name arguments (which it
// removes from params; the others are the read grammar's when rows is set). Unknown and missing arguments are
// refused before any query runs (400 PGT023); values are checked by PostgreSQL as it converts them.
func (s *Server) callOf(r *http.Request, f *schema.Function, params map[string][]string, prefer query.Prefer,
	rows bool) (*query.Call, error) {
	call := &query.Call{Function: f.Name}
	args := map[string]json.RawMessage{}
	if r.Method == http.MethodPost {
		body, err := s.readBody(r)
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			body = []byte("{}")
		}
		if prefer.Params == "single-object" {
			if len(f.Args) != 1 || !slices.Contains([]string{"json", "jsonb"}, f.Args[0].Type) {
				return nil, badArguments(f, "Prefer: params=single-object needs a function of one json or jsonb argument")
			}
			if !json.Valid(body) {
				return nil, apiError{typ: errorBadRequest, Code: "PGRST102", Message: "the request body is not valid JSON"}
			}
			call.Single, call.Object = true, body
			call.Args = []query.CallArg{{Name: f.Args[0].Name, Type: f.Args[0].Type}}
			return call, nil
		}
		if err := json.Unmarshal(body, &args); err != nil || args == nil {
			return nil, apiError{typ: errorBadRequest, Code: "PGRST102",
				Message: "the body of an RPC call must be a JSON object of its arguments by name"}
		}
	} else {
		for k, v := range params {
			if f.Arg(k) == nil {
				if !rows && !reservedRPC[k] {
					return nil, badArguments(f, fmt.Sprintf("the function has no argument %q", k))
				}
				continue
			}
			if len(v) != 1 {
				return nil, badArguments(f, fmt.Sprintf("the argument %q is given more than once", k))
			}
			raw, _ := json.Marshal(v[0])
			args[k] = raw
			delete(params, k)
		}
	}
	for k := range args {
		if f.Arg(k) == nil {
			return nil, badArguments(f, fmt.Sprintf("the function has no argument %q", k))
		}
	}
	for _, a := range f.Args {
		if _, ok := args[a.Name]; ok {
			call.Args = append(call.Args, query.CallArg{Name: a.Name, Type: a.Type})
		} else if a.Default == "" {
			return nil, badArguments(f, fmt.Sprintf("the argument %q is missing", a.Name))
		}
	}
	obj, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	call.Object = obj
	return call, nil
}

// reservedRPC are the query parameters a call whose result is not rows ignores rather than reads as an argument.
var reservedRPC = map[string]bool{"select": true, "order": true, "limit": true, "offset": true}

// callValue runs a call whose result is not rows of a served table or view: a scalar (its JSON), a set of them (a
// JSON array), a row of another type (its object), or void (204, no body).
func (s *Server) callValue(r *http.Request, f *schema.Function, call *query.Call, scope pgtx.Scope) (*response, error) {
	expr := "pg_catalog.to_json(pgrst_fn)"
	switch {
	case f.Returns.Void:
		expr = "NULL::json"
	case f.Returns.SetOf:
		expr = "coalesce(pg_catalog.json_agg(pgrst_fn), '[]'::json)"
	}
	var args []any
	arg := func(v string) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	sql := "SELECT " + expr + " FROM " + call.FromSQL(arg)
	var body []byte
	err := s.cfg.Runner.QueryRow(r.Context(), scope, func(row pgx.Row) error { return row.Scan(&body) }, sql, args...)
	if err != nil {
		return nil, err
	}
	if f.Returns.Void {
		return &response{status: http.StatusNoContent}, nil
	}
	if body == nil {
		body = []byte("null")
	}
	return &response{status: http.StatusOK, media: contentJSON, body: body}, nil
}

func badArguments(f *schema.Function, why string) apiError {
	names := make([]string, len(f.Args))
	for i, a := range f.Args {
		names[i] = a.Name + " " + a.Type
		if a.Default != "" {
			names[i] += " DEFAULT " + a.Default
		}
	}
	return apiError{typ: errorBadRequest, Code: codeBadArguments, Message: why,
		Details: str(fmt.Sprintf("%s.%s(%s)", ddl.Schema, f.Name, strings.Join(names, ", ")))}
}

// unknownFunction is PostgREST's PGRST202, with the closest served function as a hint.
func unknownFunction(m *schema.Model, name string) apiError {
	e := apiError{typ: errorNotFound, Code: "PGRST202",
		Message: fmt.Sprintf("Could not find the function %s.%s in the schema cache", ddl.Schema, name)}
	names := make([]string, len(m.Functions))
	for i, f := range m.Functions {
		names[i] = f.Name
	}
	if best := schema.Suggest(name, names); best != "" {
		e.Hint = str(fmt.Sprintf("Perhaps you meant to call the function %s.%s", ddl.Schema, best))
	} else {
		e.Hint = str("the functions served are those of policies.hcl the role may execute: see the OpenAPI document at the API's base path")
	}
	return e
}
