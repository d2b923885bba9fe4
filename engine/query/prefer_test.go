package query_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

func TestParsePrefer(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    query.Prefer
		wantErr bool
	}{
		{name: "none", in: nil, want: query.Prefer{}},
		{name: "postgrest-js order", in: []string{"count=exact, missing=default, return=representation"},
			want: query.Prefer{Count: "exact", Missing: "default", Return: "representation"}},
		{name: "every preference", in: []string{"return=minimal,count=planned", "resolution=ignore-duplicates",
			"missing=null, tx=rollback, handling=lenient, max-affected=5"},
			want: query.Prefer{Return: "minimal", Count: "planned", Resolution: "ignore-duplicates", Missing: "null",
				Tx: "rollback", Handling: "lenient", MaxAffected: 5, HasMaxAffected: true}},
		{name: "headers-only and estimated", in: []string{"return=headers-only, count=estimated, tx=commit"},
			want: query.Prefer{Return: "headers-only", Count: "estimated", Tx: "commit"}},
		{name: "first wins", in: []string{"tx=commit, tx=rollback", "resolution=merge-duplicates", "resolution=ignore-duplicates"},
			want: query.Prefer{Tx: "commit", Resolution: "merge-duplicates"}},
		{name: "spaces", in: []string{"  count=exact ,   tx=commit   ,return=representation "},
			want: query.Prefer{Count: "exact", Tx: "commit", Return: "representation"}},
		{name: "unknown ignored", in: []string{"return=everything, anything, count=exact, max-affected=x"},
			want: query.Prefer{Count: "exact", Invalid: []string{"return=everything", "anything", "max-affected=x"}}},
		{name: "strict with max-affected", in: []string{"handling=strict, max-affected=10"},
			want: query.Prefer{Handling: "strict", MaxAffected: 10, HasMaxAffected: true}},
		{name: "strict refuses unknown", in: []string{"handling=strict, timezone=UTC"}, wantErr: true},
		{name: "negative max-affected", in: []string{"max-affected=-1"},
			want: query.Prefer{Invalid: []string{"max-affected=-1"}}},
		{name: "SP and HTAB are optional whitespace", in: []string{"\tcount = exact\t,\treturn=representation"},
			want: query.Prefer{Count: "exact", Return: "representation"}},
		{name: "a no-break space is not whitespace", in: []string{"count=exact\u00a0, \u00a0return=representation"},
			want: query.Prefer{Invalid: []string{"count=exact\u00a0", "\u00a0return=representation"}}},
		{name: "an em space is not whitespace", in: []string{"tx=rollback\u2003"},
			want: query.Prefer{Invalid: []string{"tx=rollback\u2003"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := query.ParsePrefer(tt.in)
			if tt.wantErr {
				pe, ok := errors.AsType[*query.ParseError](err)
				require.True(t, ok, "want *ParseError, got %v", err)
				assert.Equal(t, query.PreferParam, pe.Param)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPrefer_Applied(t *testing.T) {
	p, err := query.ParsePrefer([]string{"return=representation, count=exact, handling=strict, max-affected=3, resolution=merge-duplicates"})
	require.NoError(t, err)
	assert.Equal(t, "resolution=merge-duplicates, return=representation, count=exact, handling=strict, max-affected=3", p.Applied())
	assert.Equal(t, "", query.Prefer{}.Applied())
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    *query.Range
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "0-9", want: &query.Range{First: 0, Last: 9}},
		{in: " 10- ", want: &query.Range{First: 10, Last: -1}},
		{in: "items=5-5", want: &query.Range{First: 5, Last: 5}},
		{in: "9-0", wantErr: true},
		{in: "a-b", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "5", wantErr: true},
		{in: "+1-2", wantErr: true},
		{in: "bytes=0-9", wantErr: true},
		{in: "99999999999999999999-", wantErr: true},
		{in: "\t0-9\t", want: &query.Range{First: 0, Last: 9}},
		{in: "\u00a00-9", wantErr: true},
		{in: "0-9\u2003", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := query.ParseRange(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, query.ErrRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestQuery_Window: limit and offset combine with a Range header as in
// PostgREST, then MaxRows caps reads; Offset and Limit feed Content-Range.
func TestQuery_Window(t *testing.T) {
	m := model(t, "")
	tests := []struct {
		name       string
		query      string
		rng        *query.Range
		maxRows    int
		method     string
		wantOffset int64
		wantLimit  int64 // -1: unlimited
	}{
		{name: "nothing", wantLimit: -1},
		{name: "limit", query: "limit=5", wantLimit: 5},
		{name: "limit zero", query: "limit=0", wantLimit: 0},
		{name: "offset", query: "offset=7", wantOffset: 7, wantLimit: -1},
		{name: "range", rng: &query.Range{First: 10, Last: 19}, wantOffset: 10, wantLimit: 10},
		{name: "open range", rng: &query.Range{First: 10, Last: -1}, wantOffset: 10, wantLimit: -1},
		{name: "range inside limit", query: "limit=100", rng: &query.Range{First: 10, Last: 19}, wantOffset: 10, wantLimit: 10},
		{name: "limit inside range", query: "limit=3&offset=12", rng: &query.Range{First: 10, Last: 19}, wantOffset: 12, wantLimit: 3},
		{name: "overlap", query: "limit=10&offset=5", rng: &query.Range{First: 0, Last: 9}, wantOffset: 5, wantLimit: 5},
		{name: "disjoint", query: "limit=5&offset=50", rng: &query.Range{First: 0, Last: 9}, wantOffset: 50, wantLimit: 0},
		{name: "limit zero and range", query: "limit=0", rng: &query.Range{First: 0, Last: -1}, wantLimit: 0},
		{name: "max rows", maxRows: 25, wantLimit: 25},
		{name: "max rows above limit", query: "limit=10", maxRows: 25, wantLimit: 10},
		{name: "max rows below limit", query: "limit=100", maxRows: 25, wantLimit: 25},
		{name: "max rows not on writes", method: "DELETE", query: "slug=eq.a", maxRows: 25, wantLimit: -1},
		{name: "range not on writes", method: "DELETE", query: "slug=eq.a", rng: &query.Range{First: 0, Last: 0}, wantLimit: -1},
		{name: "huge limit and offset", query: "limit=9223372036854775807&offset=9223372036854775807",
			rng: &query.Range{First: 0, Last: -1}, wantOffset: 9223372036854775807, wantLimit: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			method := "GET"
			if tt.method != "" {
				method = tt.method
			}
			q, err := query.Parse(query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: method,
				Params: params, Range: tt.rng, MaxRows: tt.maxRows, Tenant: testTenant})
			require.NoError(t, err)
			assert.Equal(t, tt.wantOffset, q.Offset())
			limit, ok := q.Limit()
			assert.Equal(t, tt.wantLimit >= 0, ok)
			if ok {
				assert.Equal(t, tt.wantLimit, limit)
			}
		})
	}
}
