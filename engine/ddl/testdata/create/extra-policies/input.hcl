role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }
role "reader" { privileges = [SELECT] }

table "post" {
  column "id" { type = uuid }
  column "published" {
    type    = boolean
    default = false
  }
  column "locked" {
    type    = boolean
    default = false
  }
  primary_key { columns = [column.id] }
}

policy "post_published_only" {
  on    = table.post
  to    = [role.reader]
  for   = SELECT
  using = "published"
}

policy "post_no_edit_when_locked" {
  on    = table.post
  for   = UPDATE
  using = "NOT locked"
  check = "NOT locked"
}

policy "post_insert_unpublished" {
  on    = table.post
  to    = [role.app]
  for   = INSERT
  as    = PERMISSIVE
  check = "NOT published"
}
