role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }
role "reader" { privileges = [SELECT] }

shared_table "language" {
  column "code" { type = varchar(8) }
  column "name" { type = text }
  primary_key { columns = [column.code] }
}

table "project" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "name" { type = varchar(100) }
  column "language_code" {
    references = table.language
    null       = true
    on_delete  = SET_NULL
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "project_name" {
    columns = [column.name]
    unique  = true
  }
}

table "task" {
  comment = "A unit of work in a project."
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "project_id" {
    references = table.project
    on_delete  = CASCADE
  }
  column "title" { type = text }
  column "estimate" {
    type = integer
    null = true
  }
  column "done" {
    type    = boolean
    default = false
  }
  primary_key { columns = [column.id] }
  check "task_title_not_empty" {
    expr = "title <> ''"
  }
}

policy "task_open_only" {
  on    = table.task
  to    = [role.reader]
  for   = SELECT
  using = "NOT done"
}

function "estimated_work" {
  to         = [role.app, role.reader]
  volatility = STABLE
  returns    = bigint
  body       = "SELECT coalesce(sum(estimate), 0) FROM task WHERE NOT done"
}
