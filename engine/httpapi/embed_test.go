package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/query"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// newShopEnv is newEnv for engine/query's second declaration for embedding (testdata/shop.hcl: another tenant
// column, a table named with a keyword, a junction, a shared table, two foreign keys between the same tables and
// a one-to-one), on a database migrated from it, with one currency.
func newShopEnv(t *testing.T) *env {
	t.Helper()
	declared, _, diags := schema.Load("../query/testdata/shop.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	db := pgtest.NewEmpty(t)
	changes, err := ddl.Plan(nil, declared)
	require.NoError(t, err)
	up, _ := ddl.Render(changes)
	pgtest.ExecScript(t, db.Owner, up)
	e := newEnvFor(t, db, declared)
	_, err = e.admin.Exec(t.Context(), `INSERT INTO currency (code, name) VALUES ('EUR', 'Euro')`)
	require.NoError(t, err)
	return e
}

// shopTables are the tenant tables of shop.hcl in foreign key order.
var shopTables = []tableSpec{
	{name: "customer", pk: []string{"id"}, row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("c%d", n)}
	}},
	{name: "product", pk: []string{"id"}, row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("p%d", n), "currency_code": "EUR"}
	}},
	{name: "order", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"customer_id": d.id("customer")}
	}},
	{name: "order_item", pk: []string{"order_id", "product_id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"order_id": d.id("order"), "product_id": d.id("product"), "quantity": 2}
	}},
	{name: "invoice", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"billed_to_id": d.id("customer"), "shipped_to_id": d.id("customer")}
	}},
	{name: "customer_profile", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"customer_id": d.id("customer"), "bio": "b"}
	}},
}

// TestIsolation_EmbedsShop is TestIsolation_Embeds for shop.hcl, served over a database migrated from it: every
// relationship (many-to-one, one-to-many, one-to-one, many-to-many, to and from the shared table, the two
// foreign keys between invoice and customer), with references planted from acme's rows to globex's.
func TestIsolation_EmbedsShop(t *testing.T) {
	s := newShopEnv(t).start(t, serverOpts{})
	a, g := s.acmeApp(), s.globexApp()
	for _, spec := range shopTables {
		require.NotNil(t, s.model.Table(spec.name), spec.name)
	}
	acmeRows, globexRows := seedTables(t, a, shopTables), seedTables(t, g, shopTables)
	acmeID, globexID := s.acme.ID, s.globex.ID
	s.plant(t,
		// An acme order of globex's customer, an acme order item of globex's product, an acme invoice billed to
		// globex's customer and an acme profile of globex's customer.
		fmt.Sprintf(`INSERT INTO "order" (org_id, id, customer_id) VALUES ('%s', '%s', '%s')`, acmeID, randomUUID(),
			globexRows.id("customer")),
		fmt.Sprintf(`INSERT INTO order_item (org_id, order_id, product_id) VALUES ('%s', '%s', '%s')`, acmeID,
			acmeRows.id("order"), globexRows.id("product")),
		fmt.Sprintf(`INSERT INTO invoice (org_id, id, billed_to_id, shipped_to_id) VALUES ('%s', '%s', '%s', '%s')`, acmeID,
			randomUUID(), globexRows.id("customer"), acmeRows.id("customer")),
		fmt.Sprintf(`INSERT INTO customer_profile (org_id, id, customer_id, bio) VALUES ('%s', '%s', '%s', 'planted')`, acmeID,
			randomUUID(), globexRows.id("customer")),
	)
	foreign := newForeignValues(globexRows, globexRows.id("customer"), globexRows.id("product"))
	kinds := map[query.Cardinality]bool{}
	for _, r := range query.ModelRelationships(s.model) {
		kinds[r.Kind] = true
	}
	assert.Len(t, kinds, 4, "every kind of relationship: %v", kinds)
	n := embedSweep(t, a, s.model, acmeID, globexID, foreign)
	assert.Greater(t, n, 10)

	t.Run("ambiguous is 300 PGRST201 with the candidates", func(t *testing.T) {
		r := a.get(t, "/invoice"+q("select", "*,customer(*)")).requireStatus(t, http.StatusMultipleChoices)
		e := r.error(t)
		assert.Equal(t, "PGRST201", e.Code)
		var details []map[string]string
		require.NoError(t, json.Unmarshal(e.RawDetails, &details), "%s", r.Body)
		require.Len(t, details, 2)
		assert.Equal(t, "many-to-one", details[0]["cardinality"])
		require.NotNil(t, e.Hint)
		assert.Contains(t, *e.Hint, "customer!")
	})
	t.Run("the planted references embed nothing", func(t *testing.T) {
		r := a.get(t, "/order"+q("select", "id,customer(*)", "customer_id", "eq."+globexRows.id("customer").(string)))
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(r.requireStatus(t, http.StatusOK).Body, &rows))
		require.Len(t, rows, 1)
		assert.Nil(t, rows[0]["customer"])
		r = a.get(t, "/order"+q("select", "id,product(*)", "id", "eq."+acmeRows.id("order").(string)), acceptObject)
		var order struct{ Product []map[string]any }
		require.NoError(t, json.Unmarshal(r.requireStatus(t, http.StatusOK).Body, &order))
		require.Len(t, order.Product, 1, "only acme's product through the junction: %s", r.Body)
		assert.Equal(t, acmeRows.id("product"), order.Product[0]["id"])
	})
	t.Run("globex's own embeds", func(t *testing.T) {
		r := g.get(t, "/customer"+q("select", "id,customer_profile(bio),order(id)")).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, fmt.Sprintf(`[{"id":%q,"customer_profile":{"bio":"b"},"order":[{"id":%q}]}]`,
			globexRows.id("customer"), globexRows.id("order")), string(r.Body))
	})
}
