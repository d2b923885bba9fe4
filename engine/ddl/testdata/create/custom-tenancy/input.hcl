tenancy {
  column  = "org_id"
  setting = "acme.org"
  header  = "X-Org"
}

role "app" { privileges = [SELECT, INSERT] }

table "user" {
  column "id" { type = uuid }
  column "order" { type = integer }
  column "tags" { type = sql("text[]") }
  primary_key { columns = [column.id] }
}
