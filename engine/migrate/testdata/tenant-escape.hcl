# A declaration whose function bodies the test replaces with ones that try to leave the tenant or the role of
# their transaction (issue 16, "A function cannot change the tenant or role of its transaction"). As written here
# they are valid; the test swaps in the bodies, so the model bypasses validation as a hand-built one would.
role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }

table "note" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "body" { type = text }
  primary_key { columns = [column.id] }
}

function "other_notes" {
  to         = [role.app]
  volatility = STABLE
  arg "other" { type = uuid }
  returns = setof(table.note)
  body    = "SELECT * FROM note"
}

function "other_notes_plpgsql" {
  to       = [role.app]
  language = plpgsql
  arg "other" { type = uuid }
  returns = setof(table.note)
  body    = "BEGIN RETURN QUERY SELECT * FROM note; END"
}
