role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }

table "author" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

table "book" {
  column "id" { type = uuid }
  column "author_id" {
    references = table.author
    on_delete  = CASCADE
  }
  column "editor_id" {
    references = table.author
    null       = true
    on_delete  = SET_NULL
  }
  primary_key { columns = [column.id] }
}
