package query_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

func count(n int64) *int64 { return &n }

// TestRespond: PostgREST's response rules (WIRE.md §4), one row per rule.
func TestRespond(t *testing.T) {
	rep := query.Prefer{Return: "representation"}
	tests := []struct {
		name    string
		facts   query.Facts
		res     query.Result
		want    query.Response
		wantErr error
	}{
		{name: "read, no count", facts: query.Facts{Method: "GET"}, res: query.Result{PageTotal: 3},
			want: query.Response{Status: 200, ContentRange: "0-2/*", Body: true}},
		{name: "read, empty page", facts: query.Facts{Method: "GET"},
			want: query.Response{Status: 200, ContentRange: "*/*", Body: true}},
		{name: "read from offset", facts: query.Facts{Method: "GET", Offset: 10}, res: query.Result{PageTotal: 5},
			want: query.Response{Status: 200, ContentRange: "10-14/*", Body: true}},
		{name: "count, whole", facts: query.Facts{Method: "GET", Prefer: query.Prefer{Count: "exact"}},
			res:  query.Result{PageTotal: 3, Total: count(3)},
			want: query.Response{Status: 200, ContentRange: "0-2/3", PreferenceApplied: "count=exact", Body: true}},
		{name: "count, partial", facts: query.Facts{Method: "GET", Prefer: query.Prefer{Count: "exact"}},
			res:  query.Result{PageTotal: 10, Total: count(57)},
			want: query.Response{Status: 206, ContentRange: "0-9/57", PreferenceApplied: "count=exact", Body: true}},
		{name: "count, last page", facts: query.Facts{Method: "HEAD", Offset: 50, Prefer: query.Prefer{Count: "planned"}},
			res:  query.Result{PageTotal: 7, Total: count(57)},
			want: query.Response{Status: 206, ContentRange: "50-56/57", PreferenceApplied: "count=planned", Body: true}},
		{name: "count, offset at the total", facts: query.Facts{Method: "GET", Offset: 4, Prefer: query.Prefer{Count: "exact"}},
			res:  query.Result{Total: count(4)},
			want: query.Response{Status: 206, ContentRange: "*/4", PreferenceApplied: "count=exact", Body: true}},
		{name: "count of nothing", facts: query.Facts{Method: "GET", Prefer: query.Prefer{Count: "exact"}},
			res:  query.Result{Total: count(0)},
			want: query.Response{Status: 200, ContentRange: "*/0", PreferenceApplied: "count=exact", Body: true}},
		{name: "offset past the total: 416", facts: query.Facts{Method: "GET", Offset: 5, Prefer: query.Prefer{Count: "exact"}},
			res: query.Result{Total: count(4)}, want: query.Response{ContentRange: "*/4"},
			wantErr: &query.RangeError{Offset: 5, Total: 4}},
		{name: "singular, one row", facts: query.Facts{Method: "GET", Singular: true}, res: query.Result{PageTotal: 1},
			want: query.Response{Status: 200, ContentRange: "0-0/*", Body: true}},
		{name: "singular, no row: 406", facts: query.Facts{Method: "GET", Singular: true},
			wantErr: &query.CardinalityError{Rows: 0}},
		{name: "singular, two rows: 406", facts: query.Facts{Method: "HEAD", Singular: true}, res: query.Result{PageTotal: 2},
			wantErr: &query.CardinalityError{Rows: 2}},
		{name: "insert, minimal", facts: query.Facts{Method: "POST"}, res: query.Result{PageTotal: 2, Inserted: 2},
			want: query.Response{Status: 201, ContentRange: "*/*"}},
		{name: "insert, representation and count", facts: query.Facts{Method: "POST",
			Prefer: query.Prefer{Return: "representation", Count: "exact", Missing: "default"}},
			res: query.Result{PageTotal: 2, Inserted: 2},
			want: query.Response{Status: 201, ContentRange: "*/2", Body: true,
				PreferenceApplied: "return=representation, missing=default, count=exact"}},
		{name: "upsert that only updated: 200", facts: query.Facts{Method: "POST", Prefer: query.Prefer{Resolution: "merge-duplicates"}},
			res:  query.Result{PageTotal: 1},
			want: query.Response{Status: 200, ContentRange: "*/*", PreferenceApplied: "resolution=merge-duplicates"}},
		{name: "ignore-duplicates that inserted nothing: 201", facts: query.Facts{Method: "POST",
			Prefer: query.Prefer{Resolution: "ignore-duplicates"}},
			want: query.Response{Status: 201, ContentRange: "*/*", PreferenceApplied: "resolution=ignore-duplicates"}},
		{name: "update, minimal", facts: query.Facts{Method: "PATCH"}, res: query.Result{PageTotal: 3},
			want: query.Response{Status: 204, ContentRange: "0-2/*"}},
		{name: "update of nothing, counted", facts: query.Facts{Method: "PATCH", Prefer: query.Prefer{Count: "exact"}},
			want: query.Response{Status: 204, ContentRange: "*/0", PreferenceApplied: "count=exact"}},
		{name: "update, representation", facts: query.Facts{Method: "PATCH", Prefer: rep}, res: query.Result{PageTotal: 1},
			want: query.Response{Status: 200, ContentRange: "0-0/*", PreferenceApplied: "return=representation", Body: true}},
		{name: "delete, counted", facts: query.Facts{Method: "DELETE", Prefer: query.Prefer{Count: "exact"}},
			res:  query.Result{PageTotal: 4},
			want: query.Response{Status: 204, ContentRange: "*/4", PreferenceApplied: "count=exact"}},
		{name: "delete, representation, rollback, strict", facts: query.Facts{Method: "DELETE", Prefer: query.Prefer{
			Return: "representation", Tx: "rollback", Handling: "strict", MaxAffected: 5, HasMaxAffected: true}},
			res: query.Result{PageTotal: 1},
			want: query.Response{Status: 200, ContentRange: "*/*", Body: true,
				PreferenceApplied: "return=representation, tx=rollback, handling=strict, max-affected=5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := query.Respond(tt.facts, tt.res)
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestCommit: the checks a write passes before it commits.
func TestCommit(t *testing.T) {
	strict := query.Prefer{Handling: "strict", MaxAffected: 2, HasMaxAffected: true}
	tests := []struct {
		name    string
		facts   query.Facts
		rows    int64
		wantErr error
	}{
		{name: "plain", facts: query.Facts{Method: "PATCH"}, rows: 9},
		{name: "within max-affected", facts: query.Facts{Method: "PATCH", Prefer: strict}, rows: 2},
		{name: "over max-affected", facts: query.Facts{Method: "DELETE", Prefer: strict}, rows: 3,
			wantErr: &query.MaxAffectedError{Rows: 3}},
		{name: "lenient max-affected", facts: query.Facts{Method: "DELETE",
			Prefer: query.Prefer{MaxAffected: 2, HasMaxAffected: true}}, rows: 3},
		{name: "singular, one row", facts: query.Facts{Method: "POST", Singular: true}, rows: 1},
		{name: "singular, two rows", facts: query.Facts{Method: "POST", Singular: true}, rows: 2,
			wantErr: &query.CardinalityError{Rows: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.facts.Commit(query.Result{PageTotal: tt.rows})
			assert.Equal(t, tt.wantErr, err)
		})
	}
}

func TestRangeError_IsErrRange(t *testing.T) {
	assert.True(t, errors.Is(&query.RangeError{Offset: 2, Total: 1}, query.ErrRange))
}
