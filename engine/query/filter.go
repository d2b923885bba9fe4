package query

import (
	"errors"
	"strings"
)

// op is a filter operator of the request grammar.
type op string

// The filter operators PostgREST knows (WIRE.md, "Parsing the server must do").
const (
	opEq         op = "eq"
	opNeq        op = "neq"
	opGt         op = "gt"
	opGte        op = "gte"
	opLt         op = "lt"
	opLte        op = "lte"
	opLike       op = "like"
	opILike      op = "ilike"
	opMatch      op = "match"
	opIMatch     op = "imatch"
	opIs         op = "is"
	opIsDistinct op = "isdistinct"
	opIn         op = "in"
	opCs         op = "cs"
	opCd         op = "cd"
	opOv         op = "ov"
	opSl         op = "sl"
	opSr         op = "sr"
	opNxl        op = "nxl"
	opNxr        op = "nxr"
	opAdj        op = "adj"
	opFts        op = "fts"
	opPlFts      op = "plfts"
	opPhFts      op = "phfts"
	opWFts       op = "wfts"
)

// sqlOps spells the operators that compare with one value.
var sqlOps = map[op]string{
	opEq: "=", opNeq: "<>", opGt: ">", opGte: ">=", opLt: "<", opLte: "<=",
	opLike: "LIKE", opILike: "ILIKE", opMatch: "~", opIMatch: "~*",
	opIsDistinct: "IS DISTINCT FROM",
	opCs:         "@>", opCd: "<@", opOv: "&&", opSl: "<<", opSr: ">>", opNxl: "&>", opNxr: "&<", opAdj: "-|-",
}

// ftsFuncs maps each full-text operator to the tsquery constructor it uses.
var ftsFuncs = map[op]string{
	opFts: "to_tsquery", opPlFts: "plainto_tsquery", opPhFts: "phraseto_tsquery", opWFts: "websearch_to_tsquery",
}

// quantifiable lists the operators that take (any) or (all) with a {…} list,
// as PostgREST's QuantOperator does.
var quantifiable = map[op]bool{
	opEq: true, opGt: true, opGte: true, opLt: true, opLte: true,
	opLike: true, opILike: true, opMatch: true, opIMatch: true,
}

func isPattern(o op) bool { return o == opLike || o == opILike || o == opMatch || o == opIMatch }

// isValues maps the operands of is. to their SQL.
var isValues = map[string]string{
	"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN",
}

// filter is one column condition: field, operator and operand.
type filter struct {
	Field  fieldRef
	Not    bool
	Op     op
	Quant  string   // "any" or "all" for like(any).{…}; "" otherwise
	Config string   // the text search configuration of fts(config); "" for none
	Value  string   // the operand; for is. one of the isValues keys
	List   []string // the items of in.(…)
	// Embed is set for rel=is.null or rel=not.is.null on an embed of the
	// level (Field.Name is its key): whether the parent has a matching row.
	Embed *embed
}

// cond is a node of the filter tree: a leaf holding a filter, or an and/or
// of terms. The filters of a request are a list of conds that are ANDed.
type cond struct {
	Filter *filter
	Not    bool
	Or     bool
	Terms  []*cond
}

// opString prints the operator expression of f (not.op.value) as a top-level
// filter value, or as a logic-tree term when inTree is set.
func (f *filter) opString(inTree bool) string {
	var b strings.Builder
	if f.Not {
		b.WriteString("not.")
	}
	b.WriteString(string(f.Op))
	if f.Quant != "" {
		b.WriteString("(" + f.Quant + ")")
	}
	if f.Config != "" {
		b.WriteString("(" + f.Config + ")")
	}
	b.WriteByte('.')
	switch {
	case f.Op == opIn:
		b.WriteByte('(')
		for i, v := range f.List {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteValue(v))
		}
		b.WriteByte(')')
	case inTree && needsQuotes(f.Value):
		b.WriteString(quoteValue(f.Value))
	default:
		b.WriteString(f.Value)
	}
	return b.String()
}

// needsQuotes reports whether a logic-tree operand must be quoted to be read
// back unchanged.
func needsQuotes(v string) bool {
	return v == "" || strings.ContainsAny(v, `,()"{}\`) || strings.TrimSpace(v) != v
}

// String prints c as a logic-tree term: col.op.value or [not.]and(…)/or(…).
func (c *cond) String() string {
	if c.Filter != nil {
		return c.Filter.Field.String() + "." + c.Filter.opString(true)
	}
	return c.treeString(true)
}

// treeString prints an and/or node; with named unset it prints only the
// parenthesised terms, the value of an or= or and= parameter.
func (c *cond) treeString(named bool) string {
	var b strings.Builder
	if named {
		if c.Not {
			b.WriteString("not.")
		}
		if c.Or {
			b.WriteString("or")
		} else {
			b.WriteString("and")
		}
	}
	b.WriteByte('(')
	for i, t := range c.Terms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.String())
	}
	b.WriteByte(')')
	return b.String()
}

// parseFilter reads a filter parameter: the key names the field, the value
// is [not.]op[(modifier)].operand.
func parseFilter(tb *table, key, value string) (*filter, error) {
	ks := newScanner(key, key)
	f, err := ks.field()
	if err != nil {
		return nil, err
	}
	if !ks.eof() {
		return nil, ks.unexpected(`"->", "->>", "." or end of input`)
	}
	return parseFilterValue(tb, key, f, value)
}

// parseFilterValue reads the value of a filter on the field f of tb; key
// is the parameter, for errors.
func parseFilterValue(tb *table, key string, f fieldRef, value string) (*filter, error) {
	vs := newScanner(key, value)
	flt, err := vs.opExpr(false)
	if err != nil {
		return nil, err
	}
	if !vs.eof() {
		return nil, vs.unexpected("end of input")
	}
	flt.Field = f
	if _, err := tb.resolve(f, key); err != nil {
		return nil, err
	}
	return flt, nil
}

// opExpr reads [not.]op[(any|all|config)].operand. In a logic tree (inTree)
// the operand ends at ',' or ')' unless quoted or a {…} list.
func (sc *scanner) opExpr(inTree bool) (*filter, error) {
	f := &filter{}
	if sc.accept("not.") {
		f.Not = true
	}
	start := sc.pos
	for !sc.eof() && sc.peek() != '.' && sc.peek() != '(' {
		sc.pos++
	}
	f.Op = op(sc.s[start:sc.pos])
	switch {
	case f.Op == opIn:
		if !sc.accept(".") {
			return nil, sc.unexpected(`"."`)
		}
		list, err := sc.list()
		if err != nil {
			return nil, err
		}
		f.List = list
		return f, nil
	case f.Op == opIs:
		if !sc.accept(".") {
			return nil, sc.unexpected(`"."`)
		}
		vstart := sc.pos
		v := strings.ToLower(sc.operand(inTree))
		if _, ok := isValues[v]; !ok {
			sc.pos = vstart
			return nil, sc.errf("is. takes null, not_null, true, false or unknown")
		}
		f.Value = v
		return f, nil
	case ftsFuncs[f.Op] != "":
		if sc.accept("(") {
			cstart := sc.pos
			for !sc.eof() && isIdentByte(sc.peek()) {
				sc.pos++
			}
			f.Config = sc.s[cstart:sc.pos]
			if f.Config == "" || !sc.accept(")") {
				return nil, sc.unexpected("a text search configuration name and \")\"")
			}
		}
	case sqlOps[f.Op] != "":
		if sc.accept("(") {
			switch {
			case !quantifiable[f.Op]:
				return nil, sc.errf("operator %s takes no (any) or (all)", f.Op)
			case sc.accept("any)"):
				f.Quant = "any"
			case sc.accept("all)"):
				f.Quant = "all"
			default:
				return nil, sc.unexpected(`"any)" or "all)"`)
			}
		}
	default:
		sc.pos = start
		return nil, sc.errf("unknown operator %q", string(f.Op))
	}
	if !sc.accept(".") {
		return nil, sc.unexpected(`"."`)
	}
	f.Value = sc.operand(inTree)
	return f, nil
}

// operand reads a single value: everything left at the top level; in a logic
// tree a quoted value, a {…} list, or the text up to ',' or ')'.
func (sc *scanner) operand(inTree bool) string {
	if !inTree {
		return sc.rest()
	}
	if sc.peek() == '"' {
		save := sc.pos
		if v, ok := sc.quoted(); ok && (sc.eof() || sc.peek() == ',' || sc.peek() == ')') {
			return v
		}
		sc.pos = save
	}
	if sc.peek() == '{' {
		if end := strings.IndexAny(sc.s[sc.pos+1:], "{}"); end >= 0 && sc.s[sc.pos+1+end] == '}' {
			v := sc.s[sc.pos : sc.pos+end+2]
			sc.pos += end + 2
			return v
		}
	}
	start := sc.pos
	for !sc.eof() && sc.peek() != ',' && sc.peek() != ')' {
		sc.pos++
	}
	return sc.s[start:sc.pos]
}

// list reads the (…) operand of in: items separated by ',', each quoted
// (with backslash escapes) or raw up to ',' or ')'. postgrest-js quotes items
// containing , ( or ) but leaves a '"' inside a raw item unescaped (WIRE.md §2
// row 18), so a raw item may contain '"'. () is the empty list.
func (sc *scanner) list() ([]string, error) {
	sc.skipSpaces()
	if !sc.accept("(") {
		return nil, sc.unexpected(`"("`)
	}
	if sc.accept(")") {
		return []string{}, nil
	}
	var out []string
	for {
		out = append(out, sc.listItem())
		if sc.accept(",") {
			continue
		}
		if sc.accept(")") {
			break
		}
		return nil, sc.unexpected(`"," or ")"`)
	}
	sc.skipSpaces()
	return out, nil
}

func (sc *scanner) listItem() string {
	if sc.peek() == '"' {
		save := sc.pos
		if v, ok := sc.quoted(); ok && (sc.peek() == ',' || sc.peek() == ')') {
			return v
		}
		sc.pos = save
	}
	start := sc.pos
	for !sc.eof() && sc.peek() != ',' && sc.peek() != ')' {
		sc.pos++
	}
	return sc.s[start:sc.pos]
}

// parseLogic reads an or=, and=, not.or= or not.and= parameter: its value
// is a parenthesised list of terms (PostgREST's pLogicTree).
func parseLogic(tb *table, key, value string, lim Limits) (*cond, error) {
	c := &cond{Not: strings.HasPrefix(key, "not."), Or: strings.HasSuffix(key, "or")}
	sc := newScanner(key, value)
	terms, err := sc.terms(tb, 1, lim)
	if err != nil {
		return nil, err
	}
	if !sc.eof() {
		return nil, sc.unexpected("end of input")
	}
	c.Terms = terms
	return c, nil
}

// terms reads (term, term, …) at nesting depth.
func (sc *scanner) terms(tb *table, depth int, lim Limits) ([]*cond, error) {
	if depth > lim.MaxDepth {
		return nil, limitError("or/and nested deeper than %d", lim.MaxDepth)
	}
	sc.skipSpaces()
	if !sc.accept("(") {
		return nil, sc.unexpected(`"("`)
	}
	var out []*cond
	for {
		t, err := sc.term(tb, depth, lim)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		sc.skipSpaces()
		if sc.accept(",") {
			continue
		}
		if sc.accept(")") {
			break
		}
		return nil, sc.unexpected(`"," or ")"`)
	}
	sc.skipSpaces()
	return out, nil
}

// term reads [not.]and(…), [not.]or(…) or field.opexpr.
func (sc *scanner) term(tb *table, depth int, lim Limits) (*cond, error) {
	sc.skipSpaces()
	save := sc.pos
	not := sc.accept("not.")
	for _, kw := range []string{"and(", "or("} {
		if sc.has(kw) {
			sc.pos += len(kw) - 1
			terms, err := sc.terms(tb, depth+1, lim)
			if err != nil {
				return nil, err
			}
			return &cond{Not: not, Or: kw == "or(", Terms: terms}, nil
		}
	}
	sc.pos = save
	fstart := sc.pos
	f, err := sc.field()
	if err != nil {
		return nil, err
	}
	if sc.peek() == '(' {
		sc.pos = fstart
		return nil, sc.errf("unknown logic operator %q: and or or", f.Name)
	}
	if !sc.accept(".") {
		return nil, sc.unexpected(`"." after the field`)
	}
	flt, err := sc.opExpr(true)
	if err != nil {
		return nil, err
	}
	flt.Field = f
	if _, err := tb.resolve(f, sc.param); err != nil {
		if pe, ok := errors.AsType[*ParseError](err); ok {
			pe.Pos = fstart
		}
		return nil, err
	}
	return &cond{Filter: flt}, nil
}
