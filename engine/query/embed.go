package query

import (
	"net/url"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// embed is a resource embedded by the select parameter (PostgREST's
// pFieldForest with a relation): alias:name!hint!inner(items), or the
// spread ...name(items). Its level's filters, order and window come from
// the name.col=, name.order=, name.limit=, name.offset= and name.or=
// parameters, keyed by the path of embed keys from the top.
type embed struct {
	Alias  string
	Name   string // the embedded table, as the request spells it
	Hint   string // the '!' hint: a constraint, a column or a junction table; "" for none
	Join   string // "inner", "left" or "" (left)
	Spread bool
	Items  selectList

	rel Relationship
	q   *Query // the embedded level: its table, filters (where), order and window
}

// key is the embed's name in the response and in parameter paths.
func (e *embed) key() string {
	if e.Alias != "" {
		return e.Alias
	}
	return e.Name
}

func (e *embed) inner() bool { return e.Join == "inner" }

// String prints e in the select grammar.
func (e *embed) String() string {
	var b strings.Builder
	if e.Spread {
		b.WriteString("...")
	}
	if e.Alias != "" {
		b.WriteString(quoteName(e.Alias) + ":")
	}
	b.WriteString(quoteName(e.Name))
	if e.Hint != "" {
		b.WriteString("!" + quoteName(e.Hint))
	}
	if e.Join != "" {
		b.WriteString("!" + e.Join)
	}
	b.WriteString("(" + e.Items.String() + ")")
	return b.String()
}

// DefaultMaxEmbedDepth is the deepest nesting of embeds a zero
// Limits.MaxEmbedDepth allows: select=a(b(c(d(e(*))))) is 5.
const DefaultMaxEmbedDepth = 5

// embedCtx is what resolving embeds needs besides the table: the model and
// its relationships, and the depth limit.
type embedCtx struct {
	model    *schema.Model
	rels     []Relationship
	maxDepth int
}

func newEmbedCtx(m *schema.Model, rels []Relationship, maxDepth int) *embedCtx {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxEmbedDepth
	}
	return &embedCtx{model: m, rels: rels, maxDepth: maxDepth}
}

// relationships are the ones given, else the model's, derived once and
// only when a request embeds.
func (c *embedCtx) relationships() []Relationship {
	if c.rels == nil {
		c.rels = ModelRelationships(c.model)
	}
	return c.rels
}

// embedItem reads the rest of an embed after its name (and alias): hints,
// then (items). sc is just past the name.
func (sc *scanner) embedItem(ctxDepth, maxDepth int, e *embed) error {
	for sc.accept("!") {
		start := sc.pos
		n, err := sc.name()
		if err != nil {
			return err
		}
		switch {
		case n == "inner" || n == "left":
			if e.Join != "" {
				sc.pos = start
				return sc.errf("more than one join type for %q", e.Name)
			}
			e.Join = n
		case e.Hint == "" && e.Join == "":
			e.Hint = n
		default:
			sc.pos = start
			return sc.errf("unexpected hint %q: one hint, then !inner or !left", n)
		}
	}
	if !sc.accept("(") {
		return sc.unexpected(`"!" or "("`)
	}
	if ctxDepth+1 > maxDepth {
		return limitError("embedding nested deeper than %d", maxDepth)
	}
	items, err := sc.selectItems(ctxDepth+1, maxDepth)
	if err != nil {
		return err
	}
	if !sc.accept(")") {
		return sc.unexpected(`"," or ")"`)
	}
	e.Items = items
	return nil
}

// resolve finds the relationship and table of every embed of items, at
// the level of tb, and checks every column name.
func (c *embedCtx) resolve(tb *table, items selectList) error {
	for _, it := range items {
		switch {
		case it.Star:
		case it.Embed != nil:
			e := it.Embed
			rel, err := c.find(tb.t.Name, e.Name, e.Hint)
			if err != nil {
				return err
			}
			if e.Spread && !rel.toOne() {
				return errSpread(tb.t.Name, e.Name)
			}
			target := c.model.Table(rel.Target)
			if target == nil {
				return errNoRelationship(tb.t.Name, e.Name, e.Hint, ddl.Schema, c.relationships(), c.tableNames())
			}
			e.rel = rel
			e.q = &Query{tb: newTable(c.model, target), win: window{Limit: -1}}
			if err := c.resolve(e.q.tb, e.Items); err != nil {
				return err
			}
		default:
			if _, err := tb.resolve(it.Field, "select"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *embedCtx) tableNames() []string {
	out := make([]string, len(c.model.Tables))
	for i, t := range c.model.Tables {
		out[i] = t.Name
	}
	return out
}

// find is PostgREST's findRel: the one relationship from parent to the
// embed named child that hint (if any) picks. Without a hint, child may also
// be a foreign key's constraint name or its single column (PostgREST's
// deprecated, still accepted spelling). A self-referencing foreign key gives
// a many-to-one and a one-to-many between the same table, told apart as
// PostgREST does: the table's name is the one-to-many (children), the
// foreign key column's name the many-to-one (parent_id(*)), and a hint
// picks a one-to-many by its foreign key column (auditees:t!auditor(*)).
func (c *embedCtx) find(parent, child, hint string) (Relationship, error) {
	var cands []Relationship
	for _, r := range c.relationships() {
		if r.Table != parent {
			continue
		}
		self := r.Table == r.Target && r.Junction == nil
		var ok bool
		switch {
		case self && hint == "":
			ok = child == r.Target && r.Kind == OneToMany || r.Kind == ManyToOne && r.singleColumn() == child
		case self:
			ok = child == r.Target && r.Kind == OneToMany && r.singleTargetColumn() == hint
		case hint == "":
			ok = child == r.Target || r.Junction == nil && (child == r.Constraint || child == r.singleColumn())
		default:
			ok = child == r.Target && r.matchesHint(hint)
		}
		if ok {
			cands = append(cands, r)
		}
	}
	switch len(cands) {
	case 0:
		return Relationship{}, errNoRelationship(parent, child, hint, ddl.Schema, c.relationships(), c.tableNames())
	case 1:
		return cands[0], nil
	}
	return Relationship{}, errAmbiguous(parent, child, cands)
}

// embedByPath follows a parameter's path of embed keys from items.
func embedByPath(items selectList, path []string) (*embed, error) {
	var e *embed
	for _, k := range path {
		var next *embed
		for _, it := range items {
			if it.Embed != nil && it.Embed.key() == k {
				next = it.Embed
				break
			}
		}
		if next == nil {
			return nil, errNotEmbedded(k)
		}
		e, items = next, next.Items
	}
	return e, nil
}

// embedNullFilter reads rel=is.null or rel=not.is.null when key names an
// embed of items; nil when it is not that.
func embedNullFilter(items selectList, key, value string) *filter {
	ks := newScanner(key, key)
	n, err := ks.name()
	if err != nil || !ks.eof() {
		return nil
	}
	var e *embed
	for _, it := range items {
		if it.Embed != nil && !it.Embed.Spread && it.Embed.key() == n {
			e = it.Embed
		}
	}
	if e == nil {
		return nil
	}
	vs := newScanner(key, value)
	f, err := vs.opExpr(false)
	if err != nil || !vs.eof() || f.Op != opIs || f.Value != "null" {
		return nil // a column filter, as PostgREST reads any other operator
	}
	f.Field, f.Embed = fieldRef{Name: n}, e
	return f
}

// splitEmbedKey reads a parameter key as a path of embed keys and a last
// part: "a.b.order" is ([a b], order); "a.title->x" is ([a], the field).
// A key without a '.' outside quotes has an empty path.
func splitEmbedKey(key string) (path []string, f fieldRef, err error) {
	sc := newScanner(key, key)
	for {
		start := sc.pos
		n, err := sc.name()
		if err != nil {
			return nil, fieldRef{}, err
		}
		if sc.accept(".") {
			path = append(path, n)
			continue
		}
		sc.pos = start
		if f, err = sc.field(); err != nil {
			return nil, fieldRef{}, err
		}
		if !sc.eof() {
			return nil, fieldRef{}, sc.unexpected(`"->", "->>", "." or end of input`)
		}
		return path, f, nil
	}
}

// embedParams applies the parameters whose keys have an embed path (params
// filters them out of the top level) to their embeds, in key order.
func (q *Query) embedParams(params url.Values, keys []string, lim Limits) error {
	type keyed struct {
		key string
		c   *cond
	}
	conds := map[*embed][]keyed{}
	type page struct{ limit, offset string }
	pages := map[*embed]*page{}
	var order []*embed // the embeds touched, in key order
	for _, k := range keys {
		if reserved[k] {
			continue
		}
		path, f, err := splitEmbedKey(k)
		if err != nil || len(path) == 0 {
			continue // a top-level filter: parseFilter reports its errors
		}
		last := f.Name
		if len(f.Path) == 0 && path[len(path)-1] == "not" && (last == "or" || last == "and") {
			path, last = path[:len(path)-1], "not."+last
		}
		if len(path) == 0 {
			continue
		}
		e, err := embedByPath(q.sel, path)
		if err != nil {
			return err
		}
		if !slices.Contains(order, e) {
			order = append(order, e)
		}
		plain := len(f.Path) == 0
		switch {
		case plain && (last == "or" || last == "and" || last == "not.or" || last == "not.and"):
			for _, v := range params[k] {
				c, err := parseLogic(e.q.tb, k, v, lim)
				if err != nil {
					return err
				}
				conds[e] = append(conds[e], keyed{last, c})
			}
		case plain && last == "order":
			if e.q.order, err = parseOrderIn(e.q.tb, e.Items, k, params.Get(k)); err != nil {
				return err
			}
		case plain && (last == "limit" || last == "offset"):
			p := pages[e]
			if p == nil {
				p = &page{}
				pages[e] = p
			}
			if last == "limit" {
				p.limit = params.Get(k)
			} else {
				p.offset = params.Get(k)
			}
		case plain && (last == "select" || last == "columns" || last == "on_conflict"):
			return &ParseError{Param: k, Msg: "not a parameter of an embedded resource"}
		default:
			for _, v := range params[k] {
				flt := embedNullFilter(e.Items, f.String(), v)
				var err error
				if flt == nil {
					flt, err = parseFilterValue(e.q.tb, k, f, v)
				}
				if err != nil {
					return err
				}
				conds[e] = append(conds[e], keyed{f.String(), &cond{Filter: flt}})
			}
		}
	}
	for _, e := range order {
		cs := conds[e]
		slices.SortStableFunc(cs, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
		for _, kc := range cs {
			e.q.where = append(e.q.where, kc.c)
		}
		if p := pages[e]; p != nil {
			w, err := pageWindow(p.limit, p.offset, nil, 0)
			if err != nil {
				return err
			}
			e.q.win = w
		}
	}
	return nil
}

// walkEmbeds calls fn for every embed of items, depth first, with its
// path of keys.
func walkEmbeds(items selectList, path []string, fn func(e *embed, path []string) error) error {
	for _, it := range items {
		if it.Embed == nil {
			continue
		}
		p := append(slices.Clone(path), it.Embed.key())
		if err := fn(it.Embed, p); err != nil {
			return err
		}
		if err := walkEmbeds(it.Embed.Items, p, fn); err != nil {
			return err
		}
	}
	return nil
}

// hasEmbeds reports whether the select list embeds anything.
func (s selectList) hasEmbeds() bool {
	for _, it := range s {
		if it.Embed != nil {
			return true
		}
	}
	return false
}

// embedValues adds the parameters of every embed to v, keyed by path.
func (q *Query) embedValues(v url.Values) {
	_ = walkEmbeds(q.sel, nil, func(e *embed, path []string) error {
		names := make([]string, len(path))
		for i, p := range path {
			names[i] = quoteName(p)
		}
		e.q.levelValues(v, strings.Join(names, ".")+".")
		return nil
	})
}

// embedTerms counts the filter terms inside embeds and checks their in
// lists, for Limits.
func (q *Query) embedTerms(lim Limits) (int, error) {
	terms := 0
	err := walkEmbeds(q.sel, nil, func(e *embed, _ []string) error {
		n, err := countTerms(e.q.where, lim)
		terms += n
		return err
	})
	return terms, err
}
