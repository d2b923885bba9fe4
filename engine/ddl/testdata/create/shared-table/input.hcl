role "app" { privileges = [SELECT, INSERT] }
role "reader" { privileges = [SELECT] }

shared_table "country" {
  column "code" { type = char(2) }
  column "name" { type = text }
  primary_key { columns = [column.code] }
}
