tenancy {
  scale_out = "citus"
}

role "app" {
  privileges = [SELECT]
}

table "t" {
  column "id" { type = uuid }
  column "owner" { type = text }
  check "t_owner" { expr = "owner <> ''" }
  primary_key { columns = [column.id] }
}

policy "own_rows" {
  on    = table.t
  to    = [role.app]
  using = "owner IN (SELECT 'x')" # ERROR: Sub-select in a Citus policy
}

policy "exists_rows" {
  on    = table.t
  to    = [role.app]
  for   = INSERT
  check = "EXISTS (SELECT 1)" # ERROR: Sub-select in a Citus policy
}

table "u" {
  column "id" { type = uuid }
  column "t_id" {
    references = table.t # ERROR: SET_NULL between tenant tables on Citus
    null       = true
    on_delete  = SET_NULL
  }
  primary_key { columns = [column.id] }
}
