tenancy {
  scale_out = "citus" # ERROR: Citus profile not built
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
