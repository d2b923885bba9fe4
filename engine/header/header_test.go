package header_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"pgtenant/engine/header"
)

func TestTrimOWS(t *testing.T) {
	tests := []struct{ in, want string }{
		{"acme", "acme"},
		{" acme ", "acme"},
		{"\t acme \t", "acme"},
		{"", ""},
		{" \t ", ""},
		{"a b", "a b"},
		{"\u00a0acme", "\u00a0acme"}, // no-break space
		{"acme\u00a0", "acme\u00a0"},
		{"\u2003acme", "\u2003acme"}, // em space
		{"\u3000acme", "\u3000acme"}, // ideographic space
		{"\u0085acme", "\u0085acme"}, // next line
		{"\vacme", "\vacme"},         // vertical tab
		{"\facme", "\facme"},         // form feed
		{"\racme\n", "\racme\n"},     // never in a field value that net/http accepts
		{"\ufeffacme", "\ufeffacme"}, // byte order mark
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, header.TrimOWS(tt.in), "%q", tt.in)
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"a, b", "c"}, []string{"a", "b", "c"}},
		{[]string{" a ,\t,b\t, "}, []string{"a", "b"}},
		{[]string{"a\u00a0, \u00a0"}, []string{"a\u00a0", "\u00a0"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, header.List(tt.in), "%q", tt.in)
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "application/json", want: "application/json"},
		{in: " application/json; charset=utf-8\t", want: "application/json"},
		{in: "Text/CSV", want: "text/csv"},
		{in: "\u00a0application/json", wantErr: true},
		{in: "text/csv\u2003", wantErr: true},
		{in: "not a type", wantErr: true},
	}
	for _, tt := range tests {
		got, _, err := header.MediaType(tt.in)
		if tt.wantErr {
			assert.Error(t, err, "%q", tt.in)
			continue
		}
		assert.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}
