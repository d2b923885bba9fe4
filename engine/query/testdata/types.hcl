# A model with the column types policies.hcl lacks (arrays, ranges, json,
# tsvector), for the operators that need them. Golden cases select it with
# "X-Model: types".

tenancy {
  column  = "tenant_id"
  setting = "app.current_tenant_id"
  header  = "X-Tenant-ID"
}

role "app" {
  privileges = [SELECT, INSERT, UPDATE, DELETE]
}

table "typed_item" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "tags" {
    type    = sql("text[]")
    default = sql("'{}'::text[]")
  }
  column "scores" {
    type = sql("int4range")
    null = true
  }
  column "doc" {
    type = json
    null = true
  }
  column "meta" {
    type = jsonb
    null = true
  }
  column "search" {
    type = sql("tsvector")
    null = true
  }
  column "n" {
    type    = integer
    default = 0
  }
  column "label" {
    type = text
    null = true
  }
  primary_key { columns = [column.id] }
}
