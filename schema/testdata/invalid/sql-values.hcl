table "t" {
  column "id" {
    type    = uuid
    default = now() # ERROR: Invalid default
  }
  column "a" {
    type    = text
    default = sql("") # ERROR: Invalid sql() argument
  }
  column "b" { type = varchar("x") } # ERROR: Invalid type arguments
  column "c" {
    type = text
    null = "yes" # ERROR: Invalid null
  }
  primary_key { columns = [column.id] }
  index "t_where" {
    columns = [column.a]
    where   = "" # ERROR: Empty SQL expression
  }
}
