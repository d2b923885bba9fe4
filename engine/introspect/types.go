package introspect

import (
	"pgtenant/schema"
)

// SameType reports whether the declared column type and the catalog's spelling of a type (format_type's output,
// as Load gives it in Column.Type) name the same type: "varchar(200)" and "character varying(200)",
// "timestamptz" and "timestamp with time zone", "int4[]" and "integer[]". Letter case, spaces and a pg_catalog.
// prefix do not matter. The serial types count as the integer types they create. Types it does not know are
// compared as written.
func SameType(declared, catalog string) bool {
	return schema.CanonicalType(declared) == schema.CanonicalType(catalog)
}
