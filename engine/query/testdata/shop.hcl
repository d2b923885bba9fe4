# A second declaration for embedding: another tenant column (org_id), a
# table named with an SQL keyword ("order"), a junction (order_item), a
# shared table referenced by a tenant table, two foreign keys between the
# same tables (invoice → customer), which only a hint disambiguates, and a
# one-to-one (customer_profile, unique on its customer_id).
# Golden cases select it with "X-Model: shop".

tenancy {
  column  = "org_id"
  setting = "app.current_tenant_id"
  header  = "X-Tenant-ID"
}

role "app" {
  privileges = [SELECT, INSERT, UPDATE, DELETE]
}

shared_table "currency" {
  column "code" { type = varchar(3) }
  column "name" { type = text }
  primary_key { columns = [column.code] }
}

table "customer" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "name" { type = text }
  primary_key { columns = [column.id] }
}

table "product" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "name" { type = text }
  column "currency_code" {
    references = table.currency
  }
  primary_key { columns = [column.id] }
}

table "order" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "customer_id" {
    references = table.customer
  }
  column "placed_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
}

table "order_item" {
  column "order_id" {
    references = table.order
    on_delete  = CASCADE
  }
  column "product_id" {
    references = table.product
  }
  column "quantity" {
    type    = integer
    default = 1
  }
  primary_key { columns = [column.order_id, column.product_id] }
}

table "invoice" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "billed_to_id" {
    references = table.customer
  }
  column "shipped_to_id" {
    references = table.customer
    null       = true
  }
  primary_key { columns = [column.id] }
}

table "customer_profile" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "customer_id" {
    references = table.customer
  }
  column "bio" { type = text }
  primary_key { columns = [column.id] }
  index "customer_profile_customer" {
    columns = [column.customer_id]
    unique  = true
  }
}
