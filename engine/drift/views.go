package drift

import (
	"slices"
	"strings"

	"pgtenant/engine/ddl"
)

// View is a view, as the declaration's `view` blocks make them.
type View struct {
	Schema, Name string
	Owner        string   // the owning role; not compared
	Def          string   // pg_get_viewdef: the query, names qualified (Read sets search_path to pg_catalog)
	Options      []string // reloptions, sorted: security_invoker=true, security_barrier=true
	Comment      string
	Columns      map[string]string // column comments by column name; columns without one are left out
	Privileges   []Privilege       // sorted; the owner's own are left out
}

// viewsCTE lists the views of $1, without what an extension created.
const viewsCTE = `WITH v AS (
    SELECT c.oid, n.nspname, c.relname, c.relowner, c.relacl, c.reloptions
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY ($1::text[]) AND c.relkind = 'v'
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                  AND d.deptype = 'e')
)
`

const viewsQuery = viewsCTE + `
SELECT v.nspname::text, v.relname::text, pg_get_userbyid(v.relowner)::text, pg_get_viewdef(v.oid),
       COALESCE(v.reloptions, '{}')::text[], COALESCE(obj_description(v.oid, 'pg_class'), '')
  FROM v`

const viewColumnsQuery = viewsCTE + `
SELECT v.nspname::text, v.relname::text, a.attname::text, col_description(v.oid, a.attnum)
  FROM v JOIN pg_attribute a ON a.attrelid = v.oid
 WHERE a.attnum > 0 AND NOT a.attisdropped AND col_description(v.oid, a.attnum) IS NOT NULL`

const viewPrivilegesQuery = viewsCTE + `
SELECT v.nspname::text, v.relname::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM v, aclexplode(COALESCE(v.relacl, acldefault('r', v.relowner))) a
 WHERE a.grantee <> v.relowner`

func (r *reader) views() error {
	var v View
	if err := r.each(viewsQuery, []any{&v.Schema, &v.Name, &v.Owner, &v.Def, &v.Options, &v.Comment}, func() {
		vw := v
		vw.Options = slices.Clone(v.Options)
		slices.Sort(vw.Options)
		vw.Columns = map[string]string{}
		r.c.Views[v.Schema+"."+v.Name] = &vw
	}); err != nil {
		return err
	}
	var s, n, col, comment string
	if err := r.each(viewColumnsQuery, []any{&s, &n, &col, &comment}, func() {
		if vw := r.c.Views[s+"."+n]; vw != nil {
			vw.Columns[col] = comment
		}
	}); err != nil {
		return err
	}
	var p Privilege
	return r.each(viewPrivilegesQuery, []any{&s, &n, &p.Grantee, &p.Type, &p.Grantable}, func() {
		if vw := r.c.Views[s+"."+n]; vw != nil {
			vw.Privileges = append(vw.Privileges, p)
		}
	})
}

// viewStmt is the statement that creates w, from its query as PostgreSQL prints it. Every declared view is
// created WITH (security_invoker = true, security_barrier = true), which the comparison of options checks;
// replace writes CREATE OR REPLACE, which sets the options again too.
func viewStmt(key string, w *View, replace bool) ddl.Stmt {
	return ddl.CreateView{View: qualifiedKey(key), Query: strings.TrimSuffix(strings.TrimSpace(w.Def), ";"), Replace: replace}
}

// qualifiedKey quotes a "schema.name" key of the catalog as SQL.
func qualifiedKey(key string) string {
	s, n, _ := strings.Cut(key, ".")
	return ddl.Qualified(s, n)
}

// views compares the views: a missing one is created with its grants and comments, one with another query or
// other options is replaced (CREATE OR REPLACE, as declared), and one that is not declared is dropped.
func (c *comparer) views() {
	for _, key := range sortedKeys(c.want.Views) {
		w, g := c.want.Views[key], c.got.Views[key]
		object := "view " + key
		target := "TABLE " + qualifiedKey(key)
		if g == nil {
			sql := append([]ddl.Stmt{viewStmt(key, w, false)}, grants(target, w.Privileges, nil)...)
			sql = append(sql, viewComments(key, w, nil)...)
			c.add(makeView, key, object, "is missing", sql...)
			continue
		}
		if g.Def != w.Def || !slices.Equal(g.Options, w.Options) {
			what := "has a different query"
			if g.Def == w.Def {
				what = "has options " + strings.Join(g.Options, ", ") + ", want " + strings.Join(w.Options, ", ")
			}
			// In place, so that what depends on the view (a function returning its rows) stays. PostgreSQL refuses
			// it if the columns changed: then the view must be dropped with what depends on it, and created again.
			c.add(makeView, key, object, what, viewStmt(key, w, true))
		}
		c.privileges(key, object, target, g.Privileges, w.Privileges, nil)
		for _, st := range viewComments(key, w, g) {
			c.add(comment, key, object, "has another comment", st)
		}
	}
	for _, key := range sortedKeys(c.got.Views) {
		if c.want.Views[key] == nil {
			c.add(dropView, key, "view "+key, "is not declared", ddl.DropView{View: qualifiedKey(key)})
		}
	}
}

// viewComments are the COMMENT statements that give a view (g: as it is; nil: none) the comments of w.
func viewComments(key string, w, g *View) []ddl.Stmt {
	var out []ddl.Stmt
	had := func(col string) string {
		if g == nil {
			return ""
		}
		if col == "" {
			return g.Comment
		}
		return g.Columns[col]
	}
	if w.Comment != had("") {
		out = append(out, ddl.Comment{On: "VIEW " + qualifiedKey(key), Text: w.Comment})
	}
	cols := sortedKeys(w.Columns)
	if g != nil {
		for _, col := range sortedKeys(g.Columns) {
			if _, ok := w.Columns[col]; !ok {
				cols = append(cols, col)
			}
		}
	}
	for _, col := range cols {
		if w.Columns[col] != had(col) {
			out = append(out, ddl.Comment{On: "COLUMN " + qualifiedKey(key) + "." + ddl.Ident(col), Text: w.Columns[col]})
		}
	}
	return out
}
