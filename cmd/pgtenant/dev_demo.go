package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// demoTenant is one of the tenants `dev` sets up, with its token and the
// namespace its pages live in.
type demoTenant struct {
	Identifier  string `json:"identifier"`
	ID          string `json:"id"`
	Token       string `json:"token"`
	NamespaceID string `json:"namespace_id"`
}

// demoFile keeps the demo tokens across runs: the registry stores only
// their hashes, and the printed curl commands must keep working.
const demoFile = "demo.json"

// devDemo makes sure two demo tenants exist, each with a token, a namespace
// and a published page, and returns them.
func devDemo(ctx context.Context, urls devURLs, dataDir string, m *schema.Model) ([]demoTenant, error) {
	path := filepath.Join(dataDir, demoFile)
	var demos []demoTenant
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &demos)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	owner, err := pgx.Connect(ctx, urls.owner)
	if err != nil {
		return nil, fmt.Errorf("connect as the owner: %w", err)
	}
	defer owner.Close(context.WithoutCancel(ctx))
	app, err := pgx.Connect(ctx, urls.app)
	if err != nil {
		return nil, fmt.Errorf("connect as the app login: %w", err)
	}
	defer app.Close(context.WithoutCancel(ctx))
	store := registry.NewStore(app)

	want := []struct{ identifier, name string }{{"acme", "Acme Corporation"}, {"globex", "Globex Inc."}}
	out := make([]demoTenant, 0, len(want))
	for i, w := range want {
		t, err := registry.FindTenant(ctx, owner, w.identifier)
		if errors.Is(err, registry.ErrUnknownTenant) {
			t, err = registry.CreateTenant(ctx, owner, w.identifier, w.name, "pgtenant dev")
		}
		if err != nil {
			return nil, err
		}
		d := demoTenant{Identifier: t.Identifier, ID: t.ID}
		if i < len(demos) && demos[i].Identifier == d.Identifier {
			d.Token = demos[i].Token
		}
		if d.Token != "" {
			c, err := store.Credential(ctx, tenant.HashToken(d.Token))
			switch {
			case err != nil || c == nil || !c.Allows(t.ID):
				d.Token = ""
			case tenant.CheckToken(d.Token) != nil:
				// A token of an earlier format, which servers now refuse:
				// revoke it and make a new one, so that the printed curls work.
				if err := registry.RevokeToken(ctx, owner, c.ID); err != nil && !errors.Is(err, registry.ErrAlreadyRevoked) {
					return nil, err
				}
				d.Token = ""
			}
		}
		if d.Token == "" {
			if d.Token, _, err = registry.CreateToken(ctx, owner, "demo-"+t.Identifier, m.Roles[0].Name, []string{t.ID}); err != nil {
				return nil, err
			}
		}
		if d.NamespaceID, err = seedTenant(ctx, app, m, d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return out, nil
}

// seedTenant gives a demo tenant a namespace and a published page, through
// the app login bound to the tenant, exactly as the API writes; with policies.hcl's
// theme and tag tables, the page also gets a theme and two tags, for the
// embedding example (select=slug,webpages_pagetheme(name),content_tag(name)).
func seedTenant(ctx context.Context, app *pgx.Conn, m *schema.Model, d demoTenant) (string, error) {
	if m.Table("content_namespace") == nil || m.Table("webpages_webpage") == nil {
		return "", nil // another declaration: nothing to seed
	}
	var ns string
	err := pgx.BeginFunc(ctx, app, func(tx pgx.Tx) error {
		if err := pgtx.Bind(ctx, tx, pgtx.Scope{Setting: m.Tenancy.Setting, Tenant: d.ID, Role: m.Roles[0].Name}); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO content_namespace (slug, name) VALUES ('www', $1)
			ON CONFLICT (tenant_id, slug) DO UPDATE SET name = excluded.name RETURNING id::text`,
			d.Identifier+" website").Scan(&ns)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO webpages_webpage (namespace_id, slug, title, body, is_published, published_at)
			VALUES ($1, 'welcome', $2, 'Hello from pgtenant.', true, now())
			ON CONFLICT (tenant_id, namespace_id, slug) DO NOTHING`, ns, "Welcome to "+d.Identifier)
		if err != nil || m.Table("webpages_pagetheme") == nil || m.Table("content_tag") == nil ||
			m.Table("webpages_webpage_tags") == nil {
			return err
		}
		for _, sql := range []string{
			`WITH theme AS (INSERT INTO webpages_pagetheme (name) VALUES ('default')
				ON CONFLICT (tenant_id, name) DO UPDATE SET name = excluded.name RETURNING id)
			UPDATE webpages_webpage SET theme_id = (SELECT id FROM theme) WHERE namespace_id = $1 AND slug = 'welcome'`,
			`INSERT INTO content_tag (namespace_id, slug, name) VALUES ($1, 'news', 'News'), ($1, 'go', 'Go')
				ON CONFLICT (tenant_id, namespace_id, slug) DO NOTHING`,
			`INSERT INTO webpages_webpage_tags (webpage_id, tag_id)
				SELECT p.id, t.id FROM webpages_webpage p, content_tag t
				WHERE p.namespace_id = $1 AND p.slug = 'welcome' AND t.namespace_id = $1 AND t.slug IN ('news', 'go')
				ON CONFLICT DO NOTHING`,
		} {
			if _, err := tx.Exec(ctx, sql, ns); err != nil {
				return err
			}
		}
		return nil
	})
	return ns, err
}

// printConnect prints how to connect as the owner and as the app login, and a psql command that shows the first
// demo tenant's pages as the API reads them for its token: in one transaction, as the token's role (app, not the
// login itself, which also holds reader, whose restrictive policy would hide unpublished pages), bound to the
// tenant. Every line works as pasted, in order.
func printConnect(w io.Writer, urls devURLs, m *schema.Model, demos []demoTenant) {
	fmt.Fprintf(w, `
Connect:
  export ADMIN_DATABASE_URL='%s'   # %s: owns the tables, runs migrations
  export DATABASE_URL='%s'   # %s: login holding roles %s; not superuser, no BYPASSRLS, owns nothing
`, urls.owner, devOwner, urls.app, devApp, strings.Join(roleNames(m), ", "))
	if len(demos) == 0 || len(m.Roles) == 0 {
		return
	}
	table, columns, order := "", "*", ""
	if t := m.Table("webpages_webpage"); t != nil {
		table, columns, order = t.Name, "slug, title, is_published", " ORDER BY slug"
	} else {
		for _, t := range m.Tables {
			if !t.Shared {
				table = t.Name
				break
			}
		}
	}
	if table == "" {
		return
	}
	d := demos[0]
	fmt.Fprintf(w, `  # %s's rows in psql, as the API reads them for its token: role %s, tenant %s, one transaction
  psql "$DATABASE_URL" -1 -q -c "SET LOCAL ROLE %s" -c "SET LOCAL %s = '%s'" -c "SELECT %s FROM %s%s"
`, d.Identifier, m.Roles[0].Name, d.Identifier, ddl.Ident(m.Roles[0].Name), m.Tenancy.Setting, d.ID, columns,
		ddl.Ident(table), order)
}

// printCurls prints three commands that work as pasted.
func printCurls(w io.Writer, base string, header string, demos []demoTenant) {
	if len(demos) < 2 {
		return
	}
	a, b := demos[0], demos[1]
	fmt.Fprintf(w, `
Demo tenants: %s (token %s) and %s (token %s).
Try:
  # %s's pages
  curl -s '%s/webpages_webpage?select=slug,title,is_published&order=slug' -H 'Authorization: Token %s' -H '%s: %s'
  # the same pages with their theme and tags, in one request (resource embedding)
  curl -s '%s/webpages_webpage?select=slug,webpages_pagetheme(name),content_tag(name)&content_tag.order=name&order=slug' -H 'Authorization: Token %s' -H '%s: %s'
  # add a page for %s and get it back
  curl -s '%s/webpages_webpage' -H 'Authorization: Token %s' -H '%s: %s' -H 'Content-Type: application/json' -H 'Prefer: return=representation' -d "{\"namespace_id\":\"%s\",\"slug\":\"page-$(date +%%s)\",\"title\":\"Made with curl\"}"
  # %s's token cannot read %s: 403, the same body as for an unknown tenant
  curl -s '%s/webpages_webpage' -H 'Authorization: Token %s' -H '%s: %s'
`, a.Identifier, a.Token, b.Identifier, b.Token,
		a.Identifier, base, a.Token, header, a.Identifier,
		base, a.Token, header, a.Identifier,
		a.Identifier, base, a.Token, header, a.Identifier, a.NamespaceID,
		a.Identifier, b.Identifier, base, a.Token, header, b.Identifier)
}

// selfCommand is how to run this program again from the same shell: `go run ./cmd/pgtenant` when it runs under
// `go run` (as `make run` starts it), else its name when PATH finds this binary, else its path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "pgtenant"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/pgtenant"
	}
	if p, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if a, err := filepath.EvalSymlinks(p); err == nil {
			if b, err := filepath.EvalSymlinks(exe); err == nil && a == b {
				return filepath.Base(exe)
			}
		}
	}
	return exe
}
