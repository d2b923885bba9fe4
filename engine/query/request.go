package query

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"pgtenant/schema"
)

// Request is everything Parse reads: the served model and table, the HTTP
// method, the decoded query string, the parsed headers and the body.
type Request struct {
	// Model is the served schema (introspected; shaped as the declaration:
	// a tenant table does not list the tenant column in Columns, the column
	// Model.Tenancy.Column names it; it is a uuid, readable, never written).
	Model *schema.Model
	Table *schema.Table
	// Method is GET, HEAD, POST, PATCH or DELETE.
	Method string
	// Params is the decoded query string (url.ParseQuery: '+' is a space).
	Params url.Values
	// Prefer is what ParsePrefer made of the Prefer headers.
	Prefer Prefer
	// Range is what ParseRange made of the Range header, or nil.
	Range *Range
	// Body is the JSON body of a POST or PATCH.
	Body []byte
	// Tenant is the request's tenant UUID, canonical lower-case; "" only for
	// a shared table.
	Tenant string
	// MaxRows caps the rows a read returns (0: no cap), like PostgREST's
	// db-max-rows.
	MaxRows int
	// Singular is set for Accept: application/vnd.pgrst.object+json: the
	// body is the first row's object instead of an array.
	Singular bool
	// CSV is set for Accept: text/csv: the body is a header line and one line
	// per row. It wins over Singular.
	CSV bool
	// Limits bounds the work a request may ask for; zero fields take the
	// DefaultLimits values.
	Limits Limits
	// Relationships are the relationships embeds may follow (see
	// Relationships); nil derives them from Model (ModelRelationships),
	// which a server should do once per model and pass here.
	Relationships []Relationship
	// Call, when set, makes the request a read of a function's result (an RPC) instead of Table's rows: Table is
	// then the table or view whose rows the function returns, and Method GET or HEAD.
	Call *Call
}

// Limits bounds the filter grammar, so that a request is refused with
// ErrLimit (400) before PostgreSQL plans a huge statement.
type Limits struct {
	MaxDepth    int // nesting of or/and trees: or=(…) is 1, or=(and(…)) is 2
	MaxTerms    int // filter terms in the whole request, top-level and inside trees
	MaxInValues int // items of one in.(…) list
	// MaxEmbedDepth is the deepest nesting of embedded resources:
	// select=*,a(*) is 1, select=*,a(b(*)) is 2.
	MaxEmbedDepth int
}

// DefaultLimits are the limits a zero Limits field means.
var DefaultLimits = Limits{MaxDepth: 8, MaxTerms: 100, MaxInValues: 1000, MaxEmbedDepth: DefaultMaxEmbedDepth}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxTerms <= 0 {
		l.MaxTerms = DefaultLimits.MaxTerms
	}
	if l.MaxInValues <= 0 {
		l.MaxInValues = DefaultLimits.MaxInValues
	}
	if l.MaxEmbedDepth <= 0 {
		l.MaxEmbedDepth = DefaultLimits.MaxEmbedDepth
	}
	return l
}

// Query is a parsed request, ready to be rendered as one SQL statement.
type Query struct {
	tb       *table
	method   string
	tenant   string
	prefer   Prefer
	singular bool
	csv      bool
	sel      selectList
	where    []*cond
	order    orderList
	win      window
	write    *write // POST, PATCH and DELETE
	qual     string // an embedded level's table alias, qualifying its columns; "" at the top
	call     *Call  // the function whose result a read selects from; nil for the table
}

// reserved are the parameters that are not filters.
var reserved = map[string]bool{
	"select": true, "order": true, "limit": true, "offset": true, "on_conflict": true, "columns": true,
	"or": true, "and": true, "not.or": true, "not.and": true,
}

// Parse checks a request against the model and returns the query it asks
// for. Errors: *ParseError for grammar mistakes; *ColumnError
// (ErrUnknownColumn) for names the table lacks; *EmbedError for embeds
// the relationships cannot serve; ErrLimit, ErrRange, ErrNoFilter (PATCH or DELETE without a filter), ErrReadOnly
// (a write to a shared table) and ErrForeignTenant (a body naming another
// tenant), each wrapped with details. Any other error is a caller's mistake
// (no model, no tenant for a tenant table, an unknown method). A shared
// table's request may carry the tenant, and should: its embedded tenant
// tables are read for that tenant, and without one they have no rows.
//
// As in PostgREST, a POST checks but does not apply filters, order, limit
// and offset, and PATCH and DELETE use order only together with limit or
// offset.
func Parse(r Request) (*Query, error) {
	if r.Model == nil || r.Table == nil {
		return nil, errors.New("query: Request needs a Model and a Table")
	}
	q := &Query{tb: newTable(r.Model, r.Table), method: r.Method, tenant: r.Tenant, prefer: r.Prefer,
		csv: r.CSV, singular: r.Singular && !r.CSV, call: r.Call}
	switch r.Method {
	case "GET", "HEAD":
	case "POST", "PATCH", "DELETE":
		if r.Call != nil {
			return nil, fmt.Errorf("query: a call's result is read with GET or HEAD, not %s", r.Method)
		}
		if r.Table.Shared {
			return nil, fmt.Errorf("%w: %s %s", ErrReadOnly, r.Method, r.Table.Name)
		}
	default:
		return nil, fmt.Errorf("query: method %q has no query", r.Method)
	}
	if !r.Table.Shared && r.Tenant == "" {
		return nil, fmt.Errorf("query: tenant table %q needs Request.Tenant", r.Table.Name)
	}
	lim := r.Limits.withDefaults()

	sel := "*"
	if v, ok := r.Params["select"]; ok && len(v) > 0 {
		sel = v[0]
	}
	var err error
	if q.sel, err = parseSelectIn(newEmbedCtx(r.Model, r.Relationships, lim.MaxEmbedDepth), q.tb, sel); err != nil {
		return nil, err
	}
	if err := q.checkEmbedTenant(); err != nil {
		return nil, err
	}
	if v := r.Params.Get("order"); v != "" {
		if q.order, err = parseOrderIn(q.tb, q.sel, "order", v); err != nil {
			return nil, err
		}
	}
	if err := q.checkOutputs(); err != nil {
		return nil, err
	}
	if err := q.parseFilters(r.Params, lim); err != nil {
		return nil, err
	}
	// The Range header and MaxRows shape reads only: a write's limit and
	// offset come from the query string alone.
	hdr, maxRows := r.Range, r.MaxRows
	if r.Method != "GET" && r.Method != "HEAD" {
		hdr, maxRows = nil, 0
	}
	if q.win, err = pageWindow(r.Params.Get("limit"), r.Params.Get("offset"), hdr, maxRows); err != nil {
		return nil, err
	}
	if err := q.parseWrite(r); err != nil {
		return nil, err
	}
	return q, nil
}

// parseFilters reads every filter and logic parameter, in key order so that
// the statement does not depend on map iteration, and enforces lim.
func (q *Query) parseFilters(params url.Values, lim Limits) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	type keyed struct {
		key string // the canonical parameter key, which Values prints
		c   *cond
	}
	var conds []keyed
	for _, k := range keys {
		switch {
		case k == "or" || k == "and" || k == "not.or" || k == "not.and":
			for _, v := range params[k] {
				c, err := parseLogic(q.tb, k, v, lim)
				if err != nil {
					return err
				}
				conds = append(conds, keyed{k, c})
			}
		case reserved[k]:
		case isEmbedKey(k):
			// name.col, name.order, …: embedParams reads them.
		default:
			for _, v := range params[k] {
				f := embedNullFilter(q.sel, k, v)
				var err error
				if f == nil {
					f, err = parseFilter(q.tb, k, v)
				}
				if err != nil {
					return err
				}
				conds = append(conds, keyed{f.Field.String(), &cond{Filter: f}})
			}
		}
	}
	// Sort by the canonical key, so that Values parses back to the same order.
	slices.SortStableFunc(conds, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	for _, kc := range conds {
		q.where = append(q.where, kc.c)
	}
	if err := q.embedParams(params, keys, lim); err != nil {
		return err
	}
	terms, err := q.embedTerms(lim)
	if err != nil {
		return err
	}
	n, err := countTerms(q.where, lim)
	if err != nil {
		return err
	}
	terms += n
	if terms > lim.MaxTerms {
		return limitError("%d filter terms, more than %d", terms, lim.MaxTerms)
	}
	return nil
}

// isEmbedKey reports whether k is an embedded resource's parameter: its key
// starts with a path of embed keys (rel.col, rel.order, a.b.limit, …).
func isEmbedKey(k string) bool {
	if !strings.Contains(k, ".") {
		return false
	}
	path, _, err := splitEmbedKey(k)
	return err == nil && len(path) > 0
}

// countTerms counts the filter terms of conds and checks their in lists
// against lim.
func countTerms(conds []*cond, lim Limits) (int, error) {
	terms := 0
	for _, c := range conds {
		if err := c.walk(func(f *filter) error {
			terms++
			if len(f.List) > lim.MaxInValues {
				return limitError("in list of %d values, more than %d", len(f.List), lim.MaxInValues)
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	return terms, nil
}

// levelValues adds the order, limit, offset and filters of the level to v,
// each key led by prefix (an embed's path and a '.'; "" at the top).
func (q *Query) levelValues(v url.Values, prefix string) {
	if len(q.order) > 0 {
		v.Set(prefix+"order", q.order.String())
	}
	if q.win.Limit >= 0 {
		v.Set(prefix+"limit", strconv.FormatInt(q.win.Limit, 10))
	}
	if q.win.Offset > 0 {
		v.Set(prefix+"offset", strconv.FormatInt(q.win.Offset, 10))
	}
	for _, c := range q.where {
		if c.Filter != nil {
			v.Add(prefix+c.Filter.Field.String(), c.Filter.opString(false))
			continue
		}
		k := "and"
		if c.Or {
			k = "or"
		}
		if c.Not {
			k = "not." + k
		}
		v.Add(prefix+k, c.treeString(false))
	}
}

// walk calls fn for every filter of the tree.
func (c *cond) walk(fn func(*filter) error) error {
	if c.Filter != nil {
		return fn(c.Filter)
	}
	for _, t := range c.Terms {
		if err := t.walk(fn); err != nil {
			return err
		}
	}
	return nil
}

// Offset is the first row the statement returns, for Content-Range.
func (q *Query) Offset() int64 { return q.win.Offset }

// Limit is the most rows a read returns, and false when it is unlimited.
func (q *Query) Limit() (int64, bool) { return q.win.Limit, q.win.Limit >= 0 }

// Prefer is the preferences the query was parsed with.
func (q *Query) Prefer() Prefer { return q.prefer }

// Values prints the query parameters back in canonical form: parsing them
// again (with no Range header) gives the same statement and arguments. Every
// parameter is normalised (names quoted only where needed, in lists fully
// quoted, limit and offset after the Range header and MaxRows); filters keep
// their order.
func (q *Query) Values() url.Values {
	v := url.Values{}
	v.Set("select", q.sel.String())
	q.levelValues(v, "")
	q.embedValues(v)
	if w := q.write; w != nil {
		if w.columnsParam != nil {
			v.Set("columns", joinNames(w.columnsParam))
		}
		if w.onConflictParam != nil {
			v.Set("on_conflict", joinNames(w.onConflictParam))
		}
	}
	return v
}

func joinNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteName(n)
	}
	return strings.Join(q, ",")
}

// maxBuiltKeys is the most keys a response row built with json_build_object
// may have: PostgreSQL functions take at most 100 arguments.
const maxBuiltKeys = 50

// checkOutputs refuses a select whose rows must be built key by key (an
// alias or a JSON path is present) with more keys than json_build_object
// takes.
func (q *Query) checkOutputs() error {
	if err := walkEmbeds(q.sel, nil, func(e *embed, _ []string) error {
		return (&Query{tb: e.q.tb, sel: e.Items}).checkLevelOutputs()
	}); err != nil {
		return err
	}
	return q.checkLevelOutputs()
}

// checkLevelOutputs is checkOutputs for the level's own keys.
func (q *Query) checkLevelOutputs() error {
	if n := q.outputCount(); n <= maxBuiltKeys {
		return nil
	}
	outs := q.outputs()
	for _, o := range outs {
		if !o.modeled {
			return limitError("select of %d items with aliases or JSON paths, more than %d", len(outs), maxBuiltKeys)
		}
	}
	return nil
}
