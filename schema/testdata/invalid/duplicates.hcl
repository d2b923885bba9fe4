role "app" { privileges = [SELECT] }
role "app" { privileges = [INSERT] } # ERROR: Duplicate role

table "a" {
  column "id" { type = uuid }
  column "id" { type = text } # ERROR: Duplicate column
  primary_key { columns = [column.id] }
  index "shared_name" { columns = [column.id] }
}

table "a" { # ERROR: Duplicate table
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

table "b" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
  index "shared_name" { columns = [column.id] } # ERROR: Duplicate index
  check "b_ok" { expr = "true" }
  check "b_ok" { expr = "true" } # ERROR: Duplicate constraint
}

policy "p" {
  on    = table.b
  using = "true"
}
policy "p" { # ERROR: Duplicate policy
  on    = table.b
  using = "true"
}
