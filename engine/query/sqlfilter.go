package query

import (
	"strings"
)

// condSQL renders a filter tree node; an and/or node is parenthesised.
func (q *Query) condSQL(b *builder, c *cond) string {
	if c.Filter != nil {
		return q.filterSQL(b, c.Filter)
	}
	parts := make([]string, len(c.Terms))
	for i, t := range c.Terms {
		parts[i] = q.condSQL(b, t)
	}
	sep := " AND "
	if c.Or {
		sep = " OR "
	}
	s := "(" + strings.Join(parts, sep) + ")"
	if c.Not {
		s = "NOT " + s
	}
	return s
}

// filterSQL renders one filter: the field, the operator spelled from a fixed
// table, the operand as an argument.
func (q *Query) filterSQL(b *builder, f *filter) string {
	if f.Embed != nil {
		return q.embedNullSQL(b, f)
	}
	col, _ := q.tb.column(f.Field.Name)
	lhs := q.fieldSQL(b, f.Field)
	textual := f.Field.textual() || len(f.Field.Path) == 0 && isTextType(col.Type)
	var s string
	switch {
	case f.Op == opIs:
		s = lhs + " IS " + isValues[f.Value]
	case f.Op == opIn:
		s = lhs + " = ANY (" + b.arg(arrayLiteral(f.List)) + ")"
	case ftsFuncs[f.Op] != "":
		cfg := ""
		if f.Config != "" {
			cfg = b.arg(f.Config) + "::regconfig, "
		}
		if len(f.Field.Path) > 0 || !isTSVectorType(col.Type) {
			lhs = "to_tsvector(" + cfg + lhs + ")"
		}
		s = lhs + " @@ " + ftsFuncs[f.Op] + "(" + cfg + b.arg(f.Value) + ")"
	case isPattern(f.Op):
		if !textual {
			lhs = castText(lhs, f.Field)
		}
		v := f.Value
		if f.Op == opLike || f.Op == opILike {
			v = strings.ReplaceAll(v, "*", "%")
		}
		if f.Quant != "" {
			s = lhs + " " + sqlOps[f.Op] + " " + strings.ToUpper(f.Quant) + " (" + b.arg(v) + "::text[])"
		} else {
			s = lhs + " " + sqlOps[f.Op] + " " + b.arg(v)
		}
	case f.Quant != "":
		s = lhs + " " + sqlOps[f.Op] + " " + strings.ToUpper(f.Quant) + " (" + b.arg(f.Value) + ")"
	case boolLiteral(col, f):
		// A literal, not an argument: a generic plan can then use a partial
		// index such as "WHERE is_published", which PostgreSQL only matches
		// against a constant (see boolLiteral).
		s = lhs + " " + sqlOps[f.Op] + " " + isValues[f.Value]
	case (f.Op == opCs || f.Op == opCd) && jsonKind(col, f.Field) == "json":
		// json has no containment operators; jsonb has.
		s = castJSONB(lhs, f.Field) + " " + sqlOps[f.Op] + " " + b.arg(f.Value) + "::jsonb"
	default:
		s = lhs + " " + sqlOps[f.Op] + " " + b.arg(f.Value)
	}
	if f.Not {
		s = "NOT (" + s + ")"
	}
	return s
}

// boolLiteral reports whether f compares a boolean column with true or
// false by =, <> or IS DISTINCT FROM, spelled exactly so: the operand is then
// one of two fixed words and is rendered as a literal. Any other spelling
// PostgreSQL accepts for a boolean ("t", "yes", "1"…) stays an argument.
// With an argument, PostgreSQL plans the statement afresh on every
// execution, since only a custom plan, where $n is replaced by its value, can
// prove a partial index's predicate; with the literal it caches one plan.
func boolLiteral(col column, f *filter) bool {
	if len(f.Field.Path) > 0 || isArrayType(col.Type) || f.Quant != "" {
		return false
	}
	if b := baseType(col.Type); b != "boolean" && b != "bool" {
		return false
	}
	if f.Op != opEq && f.Op != opNeq && f.Op != opIsDistinct {
		return false
	}
	return f.Value == "true" || f.Value == "false"
}

// jsonKind is "json" or "jsonb" when the field yields that type, else "".
func jsonKind(col column, f fieldRef) string {
	if f.textual() || !isJSONType(col.Type) {
		return ""
	}
	return baseType(col.Type)
}

func castText(lhs string, f fieldRef) string {
	if len(f.Path) > 0 {
		return "(" + lhs + ")::text"
	}
	return lhs + "::text"
}

func castJSONB(lhs string, f fieldRef) string {
	if len(f.Path) > 0 {
		return "(" + lhs + ")::jsonb"
	}
	return lhs + "::jsonb"
}

// arrayLiteral builds the PostgreSQL array literal of an in list, every item
// double-quoted and escaped, so that PostgreSQL infers the element type from
// the column (PostgREST's pgBuildArrayLiteral). A NUL ends an item: text
// cannot hold one.
func arrayLiteral(items []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if n := strings.IndexByte(it, 0); n >= 0 {
			it = it[:n]
		}
		b.WriteByte('"')
		for j := 0; j < len(it); j++ {
			if it[j] == '"' || it[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(it[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
