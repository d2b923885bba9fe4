package schema

import (
	"strings"
)

// typeAliases maps a type name (without modifiers) to format_type's name for it.
var typeAliases = map[string]string{
	"varchar":     "character varying",
	"char":        "character",
	"bpchar":      "character",
	"int":         "integer",
	"int4":        "integer",
	"serial":      "integer",
	"serial4":     "integer",
	"int8":        "bigint",
	"bigserial":   "bigint",
	"serial8":     "bigint",
	"int2":        "smallint",
	"smallserial": "smallint",
	"serial2":     "smallint",
	"bool":        "boolean",
	"float8":      "double precision",
	"float":       "double precision",
	"float4":      "real",
	"decimal":     "numeric",
	"varbit":      "bit varying",
	"timestamptz": "timestamp with time zone",
	"timetz":      "time with time zone",
	"timestamp":   "timestamp without time zone",
	"time":        "time without time zone",
}

// typeDefaults is the modifier a type takes when none is written: char is char(1), bit is bit(1).
var typeDefaults = map[string]string{
	"character": "(1)",
	"bit":       "(1)",
}

// CanonicalType spells a column type as PostgreSQL's format_type would, so that two spellings of one type compare
// equal: "timestamptz(3)" → "timestamp(3) with time zone", "int4[]" → "integer[]". Letter case, spaces and a
// pg_catalog. prefix do not matter; the serial types count as the integer types they create.
//
// CanonicalType spells t as format_type would: "timestamptz(3)" → "timestamp(3) with time zone".
func CanonicalType(t string) string {
	t = strings.ToLower(strings.Join(strings.Fields(t), " "))
	t = strings.TrimPrefix(t, "pg_catalog.")
	// Array dimensions: format_type writes one "[]" per dimension and never a size.
	dims := 0
	for strings.HasSuffix(t, "]") {
		open := strings.LastIndex(t, "[")
		if open < 0 {
			break
		}
		t = strings.TrimSpace(t[:open])
		dims++
	}
	// The type modifier, "(…)", goes after the first word of the name for time types
	// ("timestamp(3) with time zone") and at the end for the others.
	name, mod := t, ""
	if open := strings.Index(t, "("); open >= 0 {
		if end := strings.Index(t[open:], ")"); end >= 0 {
			end += open
			mod = strings.ReplaceAll(t[open:end+1], " ", "")
			name = strings.TrimSpace(t[:open] + " " + strings.TrimSpace(t[end+1:]))
			name = strings.Join(strings.Fields(name), " ")
		}
	}
	if alias, ok := typeAliases[name]; ok {
		name = alias
	}
	if mod == "" {
		mod = typeDefaults[name]
	}
	for _, zone := range []string{" with time zone", " without time zone"} {
		if base, ok := strings.CutSuffix(name, zone); ok && (base == "timestamp" || base == "time") {
			return base + mod + zone + strings.Repeat("[]", dims)
		}
	}
	return name + mod + strings.Repeat("[]", dims)
}
