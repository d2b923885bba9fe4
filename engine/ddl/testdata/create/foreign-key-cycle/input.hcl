role "app" { privileges = [SELECT] }

table "team" {
  column "id" { type = uuid }
  column "captain_id" {
    references = table.player
    null       = true
    on_delete  = SET_NULL
  }
  primary_key { columns = [column.id] }
}

table "player" {
  column "id" { type = uuid }
  column "team_id" { references = table.team }
  column "mentor_id" {
    references = table.player
    null       = true
  }
  primary_key { columns = [column.id] }
}
