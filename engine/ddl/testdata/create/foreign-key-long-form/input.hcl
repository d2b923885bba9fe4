role "app" { privileges = [SELECT] }

table "sku" {
  column "id" { type = uuid }
  column "code" { type = varchar(32) }
  primary_key { columns = [column.id] }
  index "sku_code" {
    columns = [column.code]
    unique  = true
  }
}

table "line" {
  column "id" { type = bigint }
  column "sku_code" {
    type    = varchar(32)
    default = "none"
  }
  primary_key { columns = [column.id] }
  foreign_key "line_sku_code_fkey" {
    columns     = [column.sku_code]
    ref_columns = [table.sku.column.code]
    on_delete   = SET_DEFAULT
  }
}
