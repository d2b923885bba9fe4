table "t" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

shared_table "s" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

policy "insert_with_using" {
  on    = table.t
  for   = INSERT
  using = "true" # ERROR: Invalid policy clause
}

policy "select_with_check" {
  on    = table.t
  for   = SELECT
  check = "true" # ERROR: Invalid policy clause
}

policy "delete_with_check" {
  on    = table.t
  for   = DELETE
  check = "true" # ERROR: Invalid policy clause
}

policy "neither" { # ERROR: Invalid policy clause
  on  = table.t
  for = UPDATE
}

policy "tenant_isolation" { # ERROR: Reserved policy name
  on    = table.t
  using = "true"
}

policy "write_shared" { # ERROR: Invalid policy clause
  on    = table.s
  for   = UPDATE
  using = "true"
}
