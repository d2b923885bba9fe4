package ddl

import (
	"strconv"
	"strings"

	"pgtenant/schema"
)

// SafeTypeChange reports whether changing a column's type from old to next keeps every value as it is, so that
// it needs no USING clause and is not a destructive change: a wider integer, real to double precision, a longer
// or unlimited varchar, varchar to text, or a numeric with at least as many digits on each side of the point.
// Every other change of type can fail on a row or change a value, and counts as destructive.
func SafeTypeChange(old, next string) bool {
	o, n := schema.CanonicalType(old), schema.CanonicalType(next)
	if o == n {
		return true
	}
	on, om := splitType(o)
	nn, nm := splitType(n)
	ints := map[string]int{"smallint": 1, "integer": 2, "bigint": 3}
	switch {
	case ints[on] > 0 && ints[nn] > 0:
		return om == "" && nm == "" && ints[nn] > ints[on]
	case ints[on] > 0 && nn == "numeric":
		digits := map[string]int{"smallint": 5, "integer": 10, "bigint": 19}[on]
		p, s, ok := numericMod(nm)
		return ok && (p == 0 || (s == 0 && p >= digits))
	case on == "real" && nn == "double precision":
		return om == "" && nm == ""
	case on == "character varying" && nn == "character varying":
		op, _, ok1 := numericMod(om)
		np, _, ok2 := numericMod(nm)
		return ok1 && ok2 && (np == 0 || (op != 0 && np >= op))
	case (on == "character varying" || on == "text") && nn == "text":
		return nm == ""
	case on == "text" && nn == "character varying":
		return nm == ""
	case on == "numeric" && nn == "numeric":
		op, os, ok1 := numericMod(om)
		np, ns, ok2 := numericMod(nm)
		return ok1 && ok2 && (np == 0 || (op != 0 && ns >= os && np-ns >= op-os))
	}
	return false
}

// splitType splits a canonical type into its name and modifier: "numeric(10,2)" → "numeric", "(10,2)".
func splitType(t string) (name, mod string) {
	if strings.HasSuffix(t, "]") {
		return t, ""
	}
	if i := strings.Index(t, "("); i >= 0 && strings.HasSuffix(t, ")") {
		return t[:i], t[i:]
	}
	return t, ""
}

// numericMod reads "(p)" or "(p,s)"; "" is 0, 0 (unlimited). ok is false for anything else.
func numericMod(mod string) (p, s int, ok bool) {
	if mod == "" {
		return 0, 0, true
	}
	inner, found := strings.CutPrefix(mod, "(")
	if inner, found = strings.CutSuffix(inner, ")"); !found {
		return 0, 0, false
	}
	ps, ss, hasScale := strings.Cut(inner, ",")
	p, err := strconv.Atoi(ps)
	if err != nil || p <= 0 {
		return 0, 0, false
	}
	if hasScale {
		if s, err = strconv.Atoi(ss); err != nil || s < 0 {
			return 0, 0, false
		}
	}
	return p, s, true
}
