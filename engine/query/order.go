package query

import "strings"

// orderTerm is one entry of the order parameter.
type orderTerm struct {
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

// parseOrder reads order=a.desc.nullslast,b (PostgREST's pOrder): fields
// with optional JSON paths, each followed by an optional direction and an
// optional nulls placement.
func parseOrder(tb *table, value string) (orderList, error) {
	sc := newScanner("order", value)
	var out orderList
	for {
		sc.skipSpaces()
		f, err := sc.field()
		if err != nil {
			return nil, err
		}
		if sc.peek() == '(' {
			return nil, embedding("order", f.Name)
		}
		t := orderTerm{Field: f}
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
		if _, err := tb.resolve(t.Field, "order"); err != nil {
			return nil, err
		}
	}
	return out, nil
}
