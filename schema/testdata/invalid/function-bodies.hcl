# Function bodies run as the caller, so RLS scopes them to its tenant; they may
# not step out of that. Each refusal comes from PostgreSQL's parser (SQL, or
# PL/pgSQL for plpgsql bodies), never from a search of the raw text: the
# accepted functions at the end say 'SET ROLE' and SECURITY DEFINER only in
# comments and strings that are data.
tenancy {
  setting = "app.current_tenant_id"
}

role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }

table "page" {
  column "id" { type = uuid }
  column "title" { type = text }
  primary_key { columns = [column.id] }
}

function "definer" {
  to      = [role.app]
  returns = void
  body    = "ALTER FUNCTION definer() SECURITY DEFINER" # ERROR: Invalid function body # ERROR: SECURITY DEFINER
}

function "definer_string" {
  to      = [role.app]
  returns = text
  body    = "SELECT 'security   definer'" # ERROR: SECURITY DEFINER
}

function "set_role" { # ERROR: Reserved function name
  to      = [role.app]
  returns = void
  body    = <<-SQL
    SET ROLE postgres;     -- # ERROR: Session change in a function body
    RESET ALL;             -- # ERROR: Session change in a function body
    SET LOCAL app.current_tenant_id = 'x'; -- # ERROR: Session change in a function body
  SQL
}

function "calls" {
  to      = [role.app]
  returns = void
  body    = <<-SQL
    SELECT set_config('app.current_tenant_id', 'x', true); -- # ERROR: Forbidden SQL function
    SELECT Set_Role('postgres');                           -- # ERROR: Session change in a function body
    SELECT pg_catalog.dblink_exec('x');                    -- # ERROR: Forbidden SQL function
  SQL
}

function "reads_tenant" {
  to      = [role.app]
  returns = text
  volatility = STABLE
  body    = "SELECT current_setting('app.current_tenant_id', true)"
}

function "reads_tenant_and_writes" {
  to      = [role.app]
  returns = void
  body    = <<-SQL
    DELETE FROM page
     WHERE current_setting('App.Current_Tenant_ID') <> ''; -- # ERROR: Tenant setting read with a write
  SQL
}

function "stable_write" {
  to         = [role.app]
  returns    = void
  volatility = STABLE
  body       = "UPDATE page SET title = lower(title)" # ERROR: Write in a non-volatile function
}

function "registry" {
  to      = [role.app]
  returns = bigint
  volatility = STABLE
  body    = "SELECT count(*) FROM \"pgtenant\".tokens" # ERROR: Registry schema named
}

function "registry_string" {
  to      = [role.app]
  returns = void
  body    = "SELECT 'pgtenant.tenants'::regclass" # ERROR: Registry schema named
}

function "plpgsql_session" {
  to       = [role.app]
  language = plpgsql
  returns  = void
  body     = <<-SQL
    BEGIN
      PERFORM set_config('role', 'postgres', true); -- # ERROR: Forbidden SQL function
      SET ROLE postgres;                            -- # ERROR: Session change in a function body
      EXECUTE 'SET ROLE postgres';                  -- # ERROR: Invalid function body
      UPDATE page SET title = current_setting('app.current_tenant_id'); -- # ERROR: Tenant setting read with a write
    END
  SQL
}

function "plpgsql_syntax" {
  to       = [role.app]
  language = plpgsql
  returns  = void
  body     = "BEGIN RETURN QUERY SELECT 1 END" # ERROR: Invalid function body
}

function "data_not_code" {
  to       = [role.app]
  language = plpgsql
  returns  = text
  volatility = STABLE
  body     = <<-SQL
    -- SET ROLE postgres; SECURITY DEFINER (a comment)
    BEGIN
      RETURN 'SET ROLE x' || $q$ set_config('a', 'b', true) $q$;
    END
  SQL
}

function "sql_data_not_code" {
  to      = [role.app]
  returns = text
  volatility = IMMUTABLE
  body    = "SELECT $x$'; SET ROLE postgres; --$x$::text"
}
