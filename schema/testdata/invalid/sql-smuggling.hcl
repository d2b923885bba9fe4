# Issue 11: fragments that a scanner which does not read SQL as PostgreSQL does
# took for one expression. PostgreSQL's lexer sees the ')' and ';' they hide,
# and the statements after them.
table "webpages_webpage" {
  column "id" { type = uuid }
  column "name" { type = text }
  column "is_published" { type = boolean }
  primary_key { columns = [column.id] }
}

# Dollar quotes hid a quote: the migration turned row-level security off.
policy "dollar_quotes" {
  on    = table.webpages_webpage
  using = "is_published AND $x$'$x$ <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( $y$'$y$ = ''" # ERROR: Invalid SQL fragment
}

# name'\' is the type name applied to the plain string '\', not an E'' string:
# its backslash escapes nothing.
policy "not_an_e_string" {
  on    = table.webpages_webpage
  using = "is_published AND name'\\' <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( E'\\'' = ''" # ERROR: Invalid SQL fragment
}

# The variant that let one tenant read another's rows: a trigger that moves
# the transaction to the tenant the row names.
policy "trigger" {
  on    = table.webpages_webpage
  using = "is_published AND $a$'$a$ <> '' ); CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN PERFORM set_config('app.current_tenant_id', NEW.name, true); RETURN NEW; END $f$; CREATE TRIGGER steal BEFORE INSERT ON public.webpages_webpage FOR EACH ROW EXECUTE FUNCTION public.steal(); SELECT ( $b$'$b$ = ''" # ERROR: Invalid SQL fragment
}

# The same through a check constraint, a default and an index predicate.
table "t" {
  column "id" { type = uuid }
  column "n" {
    type    = integer
    default = sql("0, evil text DEFAULT $$x$$") # ERROR: Invalid SQL fragment
  }
  column "s" {
    type = sql("text) ; DROP TABLE t; CREATE TABLE u (x int") # ERROR: Invalid SQL fragment
  }
  column "c" { type = sql("text COLLATE \"C\"") } # ERROR: Invalid SQL fragment
  column "d" { type = sql("text NOT NULL DEFAULT now()") } # ERROR: Invalid SQL fragment
  column "e" {
    type    = integer
    default = sql("1 NOT NULL") # ERROR: Invalid SQL fragment
  }
  primary_key { columns = [column.id] }
  check "t_n" { expr = "n > 0) NOT VALID, CONSTRAINT x CHECK (true" } # ERROR: Invalid SQL fragment
  index "t_n_where" {
    columns = [column.n]
    where   = "n > 0 /* ) ; DROP TABLE t ; */" # ERROR: Invalid SQL fragment
  }
  index "t_n_plus" {
    columns = [column.n]
    where   = "n) + (1" # ERROR: Invalid SQL fragment
  }
}

policy "nul" {
  on    = table.t
  using = "true\u0000); DROP TABLE t; --" # ERROR: Invalid SQL fragment
}

policy "backslash" {
  on    = table.t
  using = "n::text <> '\\' OR true" # ERROR: Invalid SQL fragment
}
