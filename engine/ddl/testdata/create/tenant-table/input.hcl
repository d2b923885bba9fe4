role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }

table "note" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "body" { type = text }
  primary_key { columns = [column.id] }
}
