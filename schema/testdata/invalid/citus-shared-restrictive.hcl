tenancy {
  scale_out = "citus"
}

role "reader" {
  privileges = [SELECT]
}

shared_table "plan" {
  column "code" { type = text }
  column "public" { type = boolean }
  primary_key { columns = [column.code] }
}

policy "public_plans_only" { # ERROR: Restrictive policy on a Citus reference table
  on    = table.plan
  to    = [role.reader]
  for   = SELECT
  using = "public"
}

policy "permissive_is_fine" {
  on    = table.plan
  to    = [role.reader]
  for   = SELECT
  as    = PERMISSIVE
  using = "public"
}
