table "t" {
  column "id" { type = uuid # ERROR: Invalid single-argument block definition
  primary_key { columns = [column.id] }
}
