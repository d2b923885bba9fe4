package drift

import (
	"maps"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
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

// fromView is what Read keeps of a live view: the object's own privileges (the declaration grants no column's).
func fromView(rel *introspect.Relation) *View {
	v := &View{Schema: rel.Schema, Name: rel.Name, Owner: rel.Owner, Def: rel.Def, Options: slices.Clone(rel.Options),
		Comment: rel.Comment, Columns: map[string]string{}}
	slices.Sort(v.Options)
	maps.Copy(v.Columns, rel.ColumnComments)
	for _, p := range rel.Privileges {
		if p.Column == "" {
			v.Privileges = append(v.Privileges, p)
		}
	}
	return v
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
			out = append(out, ddl.Comment{On: ddl.ColumnTarget(qualifiedKey(key), col), Text: w.Columns[col]})
		}
	}
	return out
}
