package query

import "strings"

// orderTerm is one entry of the order parameter.
type orderTerm struct {
	// Rel is the to-one embed the field belongs to, for order=rel(col);
	// nil for a column of the level's own table.
	Rel   *embed
	Field fieldRef
	Dir   string // "", "asc" or "desc"
	Nulls string // "", "nullsfirst" or "nullslast"
}

// orderList is a parsed order parameter.
type orderList []orderTerm

// String prints the list in the request grammar.
func (o orderList) String() string {
	parts := make([]string, len(o))
	for i, t := range o {
		s := t.Field.String()
		if t.Rel != nil {
			s = quoteName(t.Rel.key()) + "(" + s + ")"
		}
		if t.Dir != "" {
			s += "." + t.Dir
		}
		if t.Nulls != "" {
			s += "." + t.Nulls
		}
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

// parseOrder reads an order parameter of a level without embeds.
func parseOrder(tb *table, value string) (orderList, error) {
	return parseOrderIn(tb, nil, "order", value)
}

// parseOrderIn reads order=a.desc.nullslast,b (PostgREST's pOrder): fields
// with optional JSON paths, each followed by an optional direction and an
// optional nulls placement; a field may be rel(col), a column of the
// to-one embed rel of items (a related order).
func parseOrderIn(tb *table, items selectList, param, value string) (orderList, error) {
	sc := newScanner(param, value)
	var out orderList
	for {
		sc.skipSpaces()
		f, err := sc.field()
		if err != nil {
			return nil, err
		}
		t := orderTerm{Field: f}
		if sc.peek() == '(' && len(f.Path) == 0 {
			sc.pos++
			if t.Field, err = sc.field(); err != nil {
				return nil, err
			}
			if !sc.accept(")") {
				return nil, sc.unexpected(`"->", "->>" or ")"`)
			}
			if t.Rel, err = embedByPath(items, []string{f.Name}); err != nil {
				return nil, err
			}
			if !t.Rel.rel.toOne() {
				return nil, errRelatedOrder(tb.t.Name, t.Rel.Name)
			}
		}
		switch {
		case sc.accept(".asc"):
			t.Dir = "asc"
		case sc.accept(".desc"):
			t.Dir = "desc"
		}
		switch {
		case sc.accept(".nullsfirst"):
			t.Nulls = "nullsfirst"
		case sc.accept(".nullslast"):
			t.Nulls = "nullslast"
		}
		sc.skipSpaces()
		out = append(out, t)
		if sc.eof() {
			break
		}
		if !sc.accept(",") {
			return nil, sc.unexpected(`".asc", ".desc", ".nullsfirst", ".nullslast", "," or end of input`)
		}
	}
	for _, t := range out {
		ttb := tb
		if t.Rel != nil {
			ttb = t.Rel.q.tb
		}
		if _, err := ttb.resolve(t.Field, param); err != nil {
			return nil, err
		}
	}
	return out, nil
}
