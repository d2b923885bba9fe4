table "tenant_data" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

shared_table "lookup" {
  column "id" { type = uuid }
  column "data_id" { references = table.tenant_data } # ERROR: Shared table references a tenant table
  primary_key { columns = [column.id] }
}
