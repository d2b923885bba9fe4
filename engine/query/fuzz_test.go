package query_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgtenant/engine/query"
	"pgtenant/schema"
)

// FuzzParse feeds request.txt documents (doc.go) to Parse, seeded with every
// golden case. Properties: Parse never panics; an accepted request renders
// SQL whose words, quoted identifiers and literals all come from the builder
// or the model, whose values are all $n arguments (checkSQL); and printing
// the parameters back (Query.Values) and parsing them again gives the same
// statement and arguments.
func FuzzParse(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*/request.txt")
	for _, d := range dirs {
		if src, err := os.ReadFile(d); err == nil {
			f.Add(src)
		}
	}
	models := map[string]*schema.Model{"": model(f, ""), "types": model(f, "types"), "shop": model(f, "shop")}
	lookup := func(name string) (*schema.Model, error) {
		if m, ok := models[name]; ok {
			return m, nil
		}
		return nil, fmt.Errorf("no model %q", name)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		tr, err := parseRequestText(src, lookup)
		if err != nil {
			return
		}
		checkAccepted(t, tr.Request)
	})
}

// FuzzParseParams fuzzes the grammar directly, without URL encoding in the
// way: a select, an order and one filter or logic parameter of a GET, on a
// table of either model. Same properties as FuzzParse.
func FuzzParseParams(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*/request.txt")
	for _, d := range dirs {
		tr := readCase(f, filepath.Base(filepath.Dir(d)))
		var key, value string
		for k, v := range tr.Params {
			if k != "select" && k != "order" && k != "limit" && k != "offset" {
				key, value = k, v[0]
			}
		}
		f.Add(tr.Table.Name, tr.Params.Get("select"), tr.Params.Get("order"), key, value)
	}
	// The embedding grammar: nesting, aliases, hints, !inner, spreads, and
	// the parameters of an embed (filters, order, limit, or) by path.
	for _, s := range [][5]string{
		{"webpages_webpage", "*,theme:webpages_pagetheme!inner(*)", "theme(name).desc", "theme.name", "eq.dark"},
		{"webpages_webpage", "id,...webpages_pagetheme!theme_id(name)", "", "", ""},
		{"content_namespace", "slug,webpages_webpage(slug,content_tag!left(name),webpages_pagetheme(name))",
			"slug", "webpages_webpage.content_tag.or", "(name.eq.a,slug.like.*b)"},
		{"content_namespace", "webpages_webpage(*)", "", "webpages_webpage.order", "title.desc,webpages_pagetheme(name)"},
		{"content_namespace", "pages:webpages_webpage(*)", "", "pages.limit", "2"},
		{"content_category", "name,parent:parent_id(name),kids:content_category!parent_id(name)", "",
			"kids.not.and", "(name.eq.x,position.gt.1)"},
		{"content_language", "code,content_namespace(slug)", "", "content_namespace.slug", "in.(a,b)"},
		{"webpages_webpage", "id,content_tag(", "", "", ""},
		{"webpages_webpage", "id,content_tag(a(b(c(d(e(f(*)))))))", "", "", ""},
		{"order", "*,customer(*),items:order_item(quantity,product(name))", "customer(name)", "items.quantity", "gt.1"},
		{"invoice", "id,customer(name)", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	tables := map[string]*schema.Model{}
	for _, name := range []string{"", "types", "shop"} {
		m := model(f, name)
		for _, t := range m.Tables {
			tables[t.Name] = m
		}
	}
	f.Fuzz(func(t *testing.T, table, sel, order, key, value string) {
		m, ok := tables[table]
		if !ok {
			return
		}
		r := query.Request{Model: m, Table: m.Table(table), Method: "GET", Params: url.Values{}, Tenant: testTenant}
		if r.Table.Shared && len(sel)%2 == 0 {
			r.Tenant = "" // a shared table's request, with or without the tenant
		}
		r.Params.Set("select", sel)
		if order != "" {
			r.Params.Set("order", order)
		}
		if key != "" {
			r.Params.Add(key, value)
		}
		checkAccepted(t, r)
	})
}

// checkAccepted checks the properties of an accepted request; a refused one
// passes.
func checkAccepted(t *testing.T, r query.Request) {
	t.Helper()
	q, err := query.Parse(r)
	if err != nil {
		return
	}
	sql, args := q.SQL()
	if err := checkSQL(r.Model, sql, args); err != nil {
		t.Fatalf("%v\n%s\n%q", err, sql, args)
	}
	if err := checkEmbedTenant(r.Model, r.Tenant, sql, args); err != nil {
		t.Fatalf("%v\n%s\n%q", err, sql, args)
	}
	again := r
	again.Params, again.Range = q.Values(), nil
	q2, err := query.Parse(again)
	if err != nil {
		t.Fatalf("Values %v does not parse: %v", q.Values(), err)
	}
	sql2, args2 := q2.SQL()
	if sql2 != sql || !slices.Equal(args2, args) {
		t.Fatalf("Values %v parses to another statement:\n%s\n%q\n%s\n%q", q.Values(), sql, args, sql2, args2)
	}
}

// FuzzParseBody fuzzes a POST's body on webpages_pagetheme (text and jsonb columns), seeded with the duplicate-key
// cases. Properties: Parse never panics, and refuses with a request error (a duplicate key may be refused before
// the rest of the body is read); a body it accepts is valid JSON and decodes with encoding/json to objects of
// known columns.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `[{"name":"a"},{"name":"b"}]`, `{"name":"a","name":"b"}`,
		`{"name":"a","n\u0061me":"b"}`, `{"name":"x","settings":{"a":1,"a":2}}`, `[{"name":"a"},{"name":"b","name":"c"}]`,
		`{"name":"a"} {}`, `[{"name":"a"}`, `{"tenant_id":"` + testTenant + `","name":"a"}`, `[]`, `[1]`, `{}`} {
		f.Add([]byte(s))
	}
	m := model(f, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := query.Parse(query.Request{Model: m, Table: m.Table("webpages_pagetheme"), Method: "POST",
			Params: url.Values{}, Body: body, Tenant: testTenant})
		if err != nil {
			if _, ok := errors.AsType[*query.ParseError](err); !ok && !errors.Is(err, query.ErrUnknownColumn) &&
				!errors.Is(err, query.ErrForeignTenant) {
				t.Fatalf("refused with an unexpected error: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted, but not valid JSON: %q", body)
		}
		var rows []map[string]json.RawMessage
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			var row map[string]json.RawMessage
			if err := json.Unmarshal(body, &row); err != nil {
				t.Fatalf("accepted, but encoding/json refuses it: %v", err)
			}
			rows = append(rows, row)
		} else if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatalf("accepted, but encoding/json refuses it: %v", err)
		}
		for _, row := range rows {
			for k := range row {
				if !slices.Contains([]string{"id", "name", "settings", "created_at", "updated_at", "tenant_id"}, k) {
					t.Fatalf("accepted an unknown key %q", k)
				}
			}
		}
	})
}

var embeddedTable = regexp.MustCompile(`public\.("(?:[^"]|"")+"|\w+) AS (pgrst_\d+)`)

// checkEmbedTenant holds invariant 4 inside embeds: every tenant table a
// statement reads under an alias (an embed, a junction) carries
// "<alias>.tenant_id = $n" with the request's tenant as $n.
func checkEmbedTenant(m *schema.Model, tenant, sql string, args []any) error {
	if tenant == "" {
		if slices.Contains(args, any(testTenant)) {
			return fmt.Errorf("no tenant, yet an argument is a tenant")
		}
		return nil // every embedded tenant table is "false" (TestParse_Golden shows it)
	}
	for _, g := range embeddedTable.FindAllStringSubmatch(sql, -1) {
		name := g[1]
		if strings.HasPrefix(name, `"`) {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		}
		t := m.Table(name)
		if t == nil {
			return fmt.Errorf("embedded table %s is not in the model", g[1])
		}
		if t.Shared {
			continue
		}
		found := false
		re := regexp.MustCompile(`\b` + g[2] + `\.` + m.Tenancy.Column + ` = \$(\d+)`)
		for _, p := range re.FindAllStringSubmatch(sql, -1) {
			n, _ := strconv.Atoi(p[1])
			if n < 1 || n > len(args) || args[n-1] != tenant {
				return fmt.Errorf("%s is compared with $%s, not the tenant", g[2], p[1])
			}
			found = true
		}
		if !found {
			return fmt.Errorf("embedded tenant table %s (%s) has no tenant predicate", g[1], g[2])
		}
	}
	return nil
}
