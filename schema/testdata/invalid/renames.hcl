table "a" {
  renamed_from = "a" # ERROR: Invalid rename
  column "id" { type = uuid }
  column "title" { type = text }
  column "headline" {
    type         = text
    renamed_from = "title" # ERROR: Ambiguous rename
  }
  column "body" {
    type         = text
    renamed_from = "Body Text" # ERROR: Invalid identifier
  }
  primary_key { columns = [column.id] }
}

table "b" {
  renamed_from = "a" # ERROR: Ambiguous rename
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}
