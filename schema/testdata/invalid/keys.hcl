role "app" { privileges = [] } # ERROR: Role without privileges

table "no_key" { # ERROR: Missing primary key
  column "id" { type = uuid }
}

table "composite" {
  column "a" { type = uuid }
  column "b" {
    type = uuid
    null = true
  }
  primary_key { columns = [column.a, column.b] } # ERROR: Nullable primary key column
}

table "refs" {
  column "id" { type = uuid }
  column "c" { references = table.composite } # ERROR: Invalid reference
  column "d" { type = text }
  column "e" { type = integer }
  column "f" { references = table.no_key } # ERROR: Invalid reference
  primary_key { columns = [column.id] }
  foreign_key "refs_d_fkey" { # ERROR: Invalid foreign key
    columns     = [column.d]
    ref_columns = [table.composite.column.a]
  }
  foreign_key "refs_e_fkey" { # ERROR: Mismatched foreign key types
    columns     = [column.e]
    ref_columns = [table.refs.column.id]
  }
}

table "untyped" {
  column "id" {} # ERROR: Missing column type
  primary_key { columns = [column.id] }
}
