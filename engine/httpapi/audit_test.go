package httpapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditRecord is one row of pgtenant.audit_log as the owner reads it.
type auditRecord struct {
	Tenant, RequestID, Credential, Role, Method, Table string
	Rows                                               *int
}

// auditLog returns every record of pgtenant.audit_log, read as the owner (who reads every tenant's), oldest first.
func (e *env) auditLog(t *testing.T) []auditRecord {
	t.Helper()
	rows, err := e.db.Owner.Query(t.Context(), `SELECT tenant_id::text, request_id, credential, role, method, table_name, rows
		FROM pgtenant.audit_log ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditRecord, error) {
		var r auditRecord
		err := row.Scan(&r.Tenant, &r.RequestID, &r.Credential, &r.Role, &r.Method, &r.Table, &r.Rows)
		return r, err
	})
	require.NoError(t, err)
	return out
}

// TestAuditLog_Writes: every committed write request appends exactly one record, in its own transaction, naming
// the request's tenant, credential, role, method, table and request id; reads, rolled-back and failed writes
// append none. The owner reads every tenant's records.
func TestAuditLog_Writes(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, serverOpts{})
	a, g := s.acmeApp(), s.globexApp()
	site := a.seed(t, "Acme")
	before := len(e.auditLog(t))
	require.Positive(t, before, "seeding wrote through the API")

	tests := []struct {
		name    string
		c       client
		method  string
		path    string
		body    string
		headers []string
		status  int
		want    *auditRecord // nil: no record
	}{
		{"get", a, http.MethodGet, "/webpages_webpage", "", nil, http.StatusOK, nil},
		{"head", a, http.MethodHead, "/webpages_webpage", "", nil, http.StatusOK, nil},
		{"post", a, http.MethodPost, "/webpages_webpage",
			mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": "audited", "title": "secret title"}), nil,
			http.StatusCreated, &auditRecord{Tenant: e.acme.ID, Credential: "acme", Role: "app", Method: "POST", Table: "webpages_webpage"}},
		{"patch", a, http.MethodPatch, "/webpages_webpage" + q("slug", "eq.audited"), `{"title":"changed"}`, nil,
			http.StatusNoContent, &auditRecord{Tenant: e.acme.ID, Credential: "acme", Role: "app", Method: "PATCH", Table: "webpages_webpage"}},
		{"patch matching nothing", a, http.MethodPatch, "/webpages_webpage" + q("slug", "eq.nowhere"), `{"title":"x"}`, nil,
			http.StatusNoContent, &auditRecord{Tenant: e.acme.ID, Credential: "acme", Role: "app", Method: "PATCH", Table: "webpages_webpage"}},
		{"delete rolled back", a, http.MethodDelete, "/webpages_webpage" + q("slug", "eq.audited"), "",
			[]string{"Prefer: tx=rollback"}, http.StatusNoContent, nil},
		{"post rolled back", a, http.MethodPost, "/webpages_pagetheme", `{"name":"rolled"}`,
			[]string{"Prefer: tx=rollback"}, http.StatusCreated, nil},
		{"singular patch (explicit transaction)", a, http.MethodPatch, "/webpages_webpage" + q("slug", "eq.audited"), `{"title":"again"}`,
			[]string{"Accept: application/vnd.pgrst.object+json"}, http.StatusNoContent,
			&auditRecord{Tenant: e.acme.ID, Credential: "acme", Role: "app", Method: "PATCH", Table: "webpages_webpage"}},
		{"failed write", a, http.MethodPost, "/webpages_webpage",
			mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": "audited", "title": "duplicate"}), nil,
			http.StatusConflict, nil},
		{"reader refused", s.reader(), http.MethodDelete, "/webpages_webpage" + q("slug", "eq.audited"), "", nil,
			http.StatusForbidden, nil},
		{"delete", a, http.MethodDelete, "/webpages_webpage" + q("slug", "eq.audited"), "", nil,
			http.StatusNoContent, &auditRecord{Tenant: e.acme.ID, Credential: "acme", Role: "app", Method: "DELETE", Table: "webpages_webpage"}},
		{"other tenant", g, http.MethodPost, "/webpages_pagetheme", `{"name":"globex theme"}`, nil,
			http.StatusCreated, &auditRecord{Tenant: e.globex.ID, Credential: "globex", Role: "app", Method: "POST", Table: "webpages_pagetheme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(e.auditLog(t))
			id := "audit-" + tt.name[:3] + "-1"
			r := tt.c.do(t, tt.method, tt.path, tt.body, append(tt.headers, "X-Request-ID: "+id)...)
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			log := e.auditLog(t)
			if tt.want == nil {
				assert.Len(t, log, n, "no record")
				return
			}
			require.Len(t, log, n+1, "exactly one record")
			want := *tt.want
			want.RequestID = id
			assert.Equal(t, want, log[n])
			for _, rec := range log {
				assert.NotContains(t, rec.Table+rec.Method+rec.Credential+rec.Role+rec.RequestID, "secret", "row data")
			}
		})
	}

	var tenants []string
	for _, rec := range e.auditLog(t) {
		tenants = append(tenants, rec.Tenant)
	}
	assert.Contains(t, tenants, e.acme.ID, "the owner reads acme's records")
	assert.Contains(t, tenants, e.globex.ID, "and globex's")
}

// TestAuditLog_AppMayOnlyInsert: the app login, bound to a tenant and acting as its role as the API does, may
// append to the audit log but not read, change or delete a record (42501), nor write one for another tenant.
func TestAuditLog_AppMayOnlyInsert(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, serverOpts{})
	s.acmeApp().do(t, http.MethodPost, "/webpages_pagetheme", `{"name":"a"}`).requireStatus(t, http.StatusCreated)
	s.globexApp().do(t, http.MethodPost, "/webpages_pagetheme", `{"name":"g"}`).requireStatus(t, http.StatusCreated)
	require.Len(t, e.auditLog(t), 2)

	login, err := pgx.Connect(t.Context(), e.url)
	require.NoError(t, err)
	t.Cleanup(func() { login.Close(t.Context()) })

	// inTx runs sql as role for tenant in a transaction that is rolled back.
	inTx := func(t *testing.T, role, tenant, sql string, args ...any) error {
		t.Helper()
		tx, err := login.Begin(t.Context())
		require.NoError(t, err)
		defer tx.Rollback(t.Context()) //nolint:errcheck // the test only looks at the statement's error
		_, err = tx.Exec(t.Context(), `SELECT set_config('app.current_tenant_id', $1, true), set_config('role', $2, true)`,
			tenant, role)
		require.NoError(t, err)
		_, err = tx.Exec(t.Context(), sql, args...)
		return err
	}
	denied := func(t *testing.T, err error) {
		t.Helper()
		pgErr, ok := errors.AsType[*pgconn.PgError](err)
		require.True(t, ok, "want a PostgreSQL error, got %v", err)
		assert.Equal(t, "42501", pgErr.Code, pgErr.Message)
	}
	for _, role := range []string{"app", "reader", "none"} {
		t.Run(role, func(t *testing.T) {
			denied(t, inTx(t, role, e.acme.ID, `SELECT count(*) FROM pgtenant.audit_log`))
			denied(t, inTx(t, role, e.acme.ID, `UPDATE pgtenant.audit_log SET method = 'GET'`))
			denied(t, inTx(t, role, e.acme.ID, `DELETE FROM pgtenant.audit_log`))
			denied(t, inTx(t, role, e.acme.ID, `TRUNCATE pgtenant.audit_log`))
		})
	}
	t.Run("insert", func(t *testing.T) {
		require.NoError(t, inTx(t, "app", e.acme.ID, `INSERT INTO pgtenant.audit_log (method) VALUES ('POST')`))
		denied(t, inTx(t, "app", e.acme.ID, `INSERT INTO pgtenant.audit_log (tenant_id, method) VALUES ($1, 'POST')`,
			e.globex.ID))
		denied(t, inTx(t, "reader", e.acme.ID, `INSERT INTO pgtenant.audit_log (method) VALUES ('POST')`))
		// No tenant bound: the RLS check runs before NOT NULL, and NULL matches no tenant.
		denied(t, inTx(t, "app", "", `INSERT INTO pgtenant.audit_log (method) VALUES ('POST')`))
	})
	assert.Len(t, e.auditLog(t), 2, "every test transaction was rolled back")
}
