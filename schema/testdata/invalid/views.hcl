# Views: names share the relation namespace with tables and indexes, every
# column is declared with its type, roles are declared, and the query is one
# SELECT that cannot change the session, read the tenant setting or reach the
# tenant registry. pgtenant always creates views with security_invoker and
# security_barrier; turning either off is refused.
role "app" { privileges = [SELECT] }

table "page" {
  column "id" { type = uuid }
  column "title" { type = text }
  primary_key { columns = [column.id] }
  index "page_title" { columns = [column.title] }
}

view "page" { # ERROR: Duplicate view
  to    = [role.app]
  query = "SELECT id FROM page"
  column "id" { type = uuid }
}

view "page_title" { # ERROR: Duplicate view
  to    = [role.app]
  query = "SELECT id FROM page"
  column "id" { type = uuid }
}

view "Titles" { # ERROR: Invalid identifier
  to    = [role.app, role.editor] # ERROR: Unknown role
  query = "SELECT id, title FROM page"
  column "id" { type = uuid }
  column "id" { type = text } # ERROR: Duplicate column
}

view "no_columns" { # ERROR: View without columns
  to    = [] # ERROR: Empty role list
  query = "SELECT id FROM page"
}

view "definer" {
  to               = [role.app]
  security_invoker = false # ERROR: View without security_invoker
  query            = "SELECT id FROM page"
  column "id" { type = uuid }
}

view "sets_config" {
  to    = [role.app]
  query = "SELECT id, set_config('app.current_tenant_id', title, true) FROM page" # ERROR: Forbidden SQL function
  column "id" { type = uuid }
  column "set_config" { type = text }
}

view "reads_tenant" {
  to    = [role.app]
  query = "SELECT id FROM page WHERE current_setting('app.current_tenant_id') <> ''" # ERROR: Forbidden SQL function
  column "id" { type = uuid }
}

view "registry" {
  to    = [role.app]
  query = "SELECT id FROM pgtenant.tenants" # ERROR: Registry schema named
  column "id" { type = uuid }
}

view "not_a_select" {
  to    = [role.app]
  query = "DELETE FROM page RETURNING id" # ERROR: Invalid SQL fragment
  column "id" { type = uuid }
}

view "two_statements" {
  to    = [role.app]
  query = "SELECT id FROM page; SET ROLE postgres" # ERROR: Invalid SQL fragment
  column "id" { type = uuid }
}

view "check_option" {
  to    = [role.app]
  query = "SELECT id FROM page WITH CASCADED CHECK OPTION" # ERROR: Invalid SQL fragment
  column "id" { type = uuid }
}

view "locks" {
  to    = [role.app]
  query = "SELECT id FROM page FOR UPDATE" # ERROR: Invalid SQL fragment
  column "id" { type = uuid }
}
