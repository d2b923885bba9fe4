role "reader" { privileges = [SELECT] }

table "theme" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

table "webpage" {
  column "id" { type = uuid }
  column "slug" { type = text }
  column "theme_id" { references = table.theem } # ERROR: Unknown table
  primary_key { columns = [column.id] }
  index "webpage_slug" { columns = [column.slugg] } # ERROR: Unknown column
}

table "link" {
  column "id" { type = uuid }
  column "target" { type = uuid }
  primary_key { columns = [column.id] }
  foreign_key "link_target_fkey" {
    columns     = [column.target]
    ref_columns = [table.webpage.column.idd] # ERROR: Unknown column
  }
}

policy "published" {
  on    = table.webpage
  to    = [role.reeder] # ERROR: Unknown role
  for   = SELECT
  using = "true"
}
