role "writer" { privileges = [INSERT, UPDATE] }
role "auditor" { privileges = [SELECT] }
role "janitor" { privileges = [SELECT, DELETE] }

table "doc" {
  column "id" { type = uuid }
  column "title" { type = text }
  primary_key { columns = [column.id] }
}
