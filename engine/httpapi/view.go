package httpapi

import "pgtenant/schema"

// viewTable is the table a view is read as: its columns, no keys, shared (the view has no tenant column; its
// security_invoker query runs under the tenant's RLS, which scopes every table underneath). The grammar's writes to
// a shared table are refused, and handleTable refuses them on a view before that (405).
func viewTable(v *schema.View) *schema.Table {
	t := &schema.Table{Name: v.Name, Comment: v.Comment, Shared: true}
	for _, c := range v.Columns {
		t.Columns = append(t.Columns, &schema.Column{Name: c.Name, Type: c.Type, Null: true, Comment: c.Comment})
	}
	return t
}
