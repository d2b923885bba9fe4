role "app" { privileges = [SELECT, INSERT] }

shared_table "currency" {
  column "code" { type = char(3) }
  primary_key { columns = [column.code] }
}

table "price" {
  column "id" { type = uuid }
  column "currency" { references = table.currency }
  column "amount" { type = numeric(12, 2) }
  primary_key { columns = [column.id] }
}
