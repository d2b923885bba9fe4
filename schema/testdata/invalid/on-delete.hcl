table "parent" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

table "child" {
  column "id" { type = uuid }
  column "parent_id" {
    references = table.parent # ERROR: SET_NULL on a NOT NULL column
    on_delete  = SET_NULL
  }
  column "other_id" {
    references = table.parent # ERROR: SET_DEFAULT without a default
    on_delete  = SET_DEFAULT
  }
  column "note" {
    type      = text
    on_delete = CASCADE # ERROR: on_delete without references
  }
  primary_key { columns = [column.id] }
}
