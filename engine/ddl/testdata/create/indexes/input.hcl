role "app" { privileges = [SELECT] }

table "event" {
  column "id" { type = uuid }
  column "kind" { type = text }
  column "at" { type = timestamptz }
  column "done" {
    type    = boolean
    default = false
  }
  primary_key { columns = [column.id] }
  index "event_kind_at" { columns = [column.kind, column.at] }
  index "event_open_kind" {
    columns = [column.kind]
    unique  = true
    where   = "NOT done"
  }
}
