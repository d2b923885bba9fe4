# Fragments may compute, not act: no call that changes the session, reads the
# tenant setting, reaches files or other databases, runs SQL given as text,
# waits, notifies, locks or writes rows.
tenancy {
  setting = "app.current_tenant_id"
}

table "t" {
  column "id" { type = uuid }
  column "owner" { type = text }
  column "n" {
    type    = integer
    default = sql("length(pg_read_file('/etc/passwd'))") # ERROR: Forbidden SQL function
  }
  primary_key { columns = [column.id] }
  check "t_sleep" { expr = "pg_sleep(1) IS NOT NULL" } # ERROR: Forbidden SQL function
  index "t_owner" {
    columns = [column.owner]
    where   = "owner <> (SELECT setting FROM pg_settings WHERE name = 'app.current_tenant_id')" # ERROR: Forbidden SQL function
  }
}

policy "set_config" {
  on    = table.t
  using = "set_config('app.current_tenant_id', owner, true) IS NOT NULL" # ERROR: Forbidden SQL function
}

policy "qualified_set_config" {
  on    = table.t
  using = "PG_CATALOG.Set_Config('role', 'postgres', false) IS NOT NULL" # ERROR: Forbidden SQL function
}

policy "tenant_setting" {
  on    = table.t
  using = "owner = current_setting('App.Current_Tenant_ID', true)" # ERROR: Forbidden SQL function
}

policy "computed_setting_name" {
  on    = table.t
  using = "owner = current_setting('app.' || 'current_tenant_id')" # ERROR: Forbidden SQL function
}

policy "other_setting" {
  on    = table.t
  using = "owner <> current_setting('application_name')"
}

policy "dblink" {
  on    = table.t
  using = "EXISTS (SELECT 1 FROM dblink('dbname=x', 'SELECT 1') AS d(x int))" # ERROR: Forbidden SQL function
}

policy "query_to_xml" {
  on    = table.t
  using = "query_to_xml('SELECT 1', true, true, '') IS NOT NULL" # ERROR: Forbidden SQL function
}

policy "terminate" {
  on    = table.t
  using = "pg_terminate_backend(pg_backend_pid())" # ERROR: Forbidden SQL function
}

policy "advisory_lock" {
  on    = table.t
  using = "pg_advisory_lock(1) IS NOT NULL" # ERROR: Forbidden SQL function
}

policy "writes_rows" {
  on    = table.t
  using = "EXISTS (WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 FROM d)" # ERROR: Invalid SQL fragment
}

policy "locks_rows" {
  on    = table.t
  using = "EXISTS (SELECT 1 FROM t FOR UPDATE)" # ERROR: Invalid SQL fragment
}
