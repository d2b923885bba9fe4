role "app" {
  privileges = [SELCT, INSERT] # ERROR: Invalid privilege
}

table "t" {
  column "id" { type = uuid }
  column "parent_id" {
    references = table.t
    null       = true
    on_delete  = SET_NUL # ERROR: Invalid on_delete action
  }
  column "n" { type = integr } # ERROR: Unknown type
  column "v" { type = varchr(3) } # ERROR: Unknown type
  column "w" {
    type = text
    nul  = true # ERROR: Unsupported argument
  }
  colum "x" { type = text } # ERROR: Unsupported block type
  primary_key { columns = [column.id] }
}

policy "p" {
  on    = table.t
  for   = SELEKT # ERROR: Invalid policy command
  as    = RESTRICTIV # ERROR: Invalid policy kind
  using = "true"
}
