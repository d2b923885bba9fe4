package introspect_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"pgtenant/engine/introspect"
)

func TestSameType(t *testing.T) {
	tests := []struct {
		declared, catalog string
		want              bool
	}{
		{"uuid", "uuid", true},
		{"text", "text", true},
		{"varchar(200)", "character varying(200)", true},
		{"varchar", "character varying", true},
		{"VARCHAR( 8 )", "character varying(8)", true},
		{"char(2)", "character(2)", true},
		{"char", "character(1)", true},
		{"timestamptz", "timestamp with time zone", true},
		{"timestamptz(3)", "timestamp(3) with time zone", true},
		{"timestamp", "timestamp without time zone", true},
		{"timestamp(6)", "timestamp(6) without time zone", true},
		{"time", "time without time zone", true},
		{"timetz", "time with time zone", true},
		{"integer", "integer", true},
		{"int4", "integer", true},
		{"serial", "integer", true},
		{"bigserial", "bigint", true},
		{"int8", "bigint", true},
		{"bool", "boolean", true},
		{"double precision", "double precision", true},
		{"float8", "double precision", true},
		{"numeric(10,2)", "numeric(10,2)", true},
		{"decimal(10, 2)", "numeric(10,2)", true},
		{"jsonb", "jsonb", true},
		{"text[]", "text[]", true},
		{"int4[]", "integer[]", true},
		{"varchar(10)[]", "character varying(10)[]", true},
		{"integer[3]", "integer[]", true},
		{"pg_catalog.text", "text", true},

		{"varchar(200)", "character varying(100)", false},
		{"varchar(200)", "character varying", false},
		{"timestamptz", "timestamp without time zone", false},
		{"timestamp", "timestamp with time zone", false},
		{"json", "jsonb", false},
		{"integer", "bigint", false},
		{"text", "text[]", false},
		{"numeric(10,2)", "numeric", false},
		{"char", "character(2)", false},
	}
	for _, tt := range tests {
		t.Run(tt.declared+" "+tt.catalog, func(t *testing.T) {
			assert.Equal(t, tt.want, introspect.SameType(tt.declared, tt.catalog))
			assert.Equal(t, tt.want, introspect.SameType(tt.catalog, tt.declared), "symmetric")
		})
	}
}
