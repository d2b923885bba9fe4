table "a" {
  column "tenant_id" { type = uuid } # ERROR: Tenant column declared by hand
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

shared_table "s" {
  column "tenant_id" { type = uuid } # ERROR: Tenant column declared by hand
  primary_key { columns = [column.tenant_id] }
}
