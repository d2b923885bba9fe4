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

table "todo" {
  renamed_from = "task"
  comment = "A unit of work in a project."
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "project_id" {
    references = table.project
    on_delete  = CASCADE
  }
  column "name" {
    type         = text
    renamed_from = "title"
  }
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
    expr = "name <> ''"
  }
}

policy "task_open_only" {
  on    = table.todo
  to    = [role.reader]
  for   = SELECT
  using = "NOT done"
}

view "open_tasks" {
  comment = "Tasks not done yet, with their project's name."
  to      = [role.app, role.reader]
  query   = <<-SQL
    SELECT t.id, t.name AS title, p.name AS project_name
      FROM todo t JOIN project p ON p.id = t.project_id
     WHERE NOT t.done
  SQL
  column "id" { type = uuid }
  column "title" { type = text }
  column "project_name" { type = varchar(100) }
}

function "search_tasks" {
  to         = [role.app, role.reader]
  volatility = STABLE
  arg "q" { type = text }
  returns = setof(view.open_tasks)
  body    = "SELECT * FROM open_tasks WHERE title ILIKE '%' || q || '%'"
}

function "finish_task" {
  comment  = "Marks a task done; returns whether it was open."
  to       = [role.app]
  language = plpgsql
  arg "task_id" { type = uuid }
  returns = boolean
  body    = <<-SQL
    BEGIN
      UPDATE todo SET done = true WHERE id = task_id AND NOT done;
      RETURN FOUND;
    END
  SQL
}
