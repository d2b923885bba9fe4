package verify_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/verify"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func declared(t *testing.T) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), diags.Error())
	return m
}

// clean is a migrated database and the configuration of a deployment on it that passes every check.
func clean(t *testing.T) (*pgtest.DB, verify.Config) {
	t.Helper()
	db := pgtest.New(t)
	return db, verify.Config{
		AppURL:        db.LoginURL(t, "app", "reader"),
		AdminURL:      db.OwnerURL,
		Declared:      declared(t),
		MigrationsDir: "../../migrations",
		RequireTenant: true,
	}
}

// failures maps the name of each failed check to its result.
func failures(results []verify.Result) map[string]verify.Result {
	out := map[string]verify.Result{}
	for _, r := range results {
		if !r.OK {
			out[r.Name] = r
		}
	}
	return out
}

func TestRun_Clean(t *testing.T) {
	_, cfg := clean(t)
	results := verify.Run(t.Context(), cfg)
	for _, r := range results {
		t.Logf("%v %s — %s | %s", r.OK, r.Name, r.Detail, r.Fix)
	}
	assert.Empty(t, failures(results))
}
