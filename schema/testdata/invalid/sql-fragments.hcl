table "t" {
  column "id" { type = uuid }
  column "n" {
    type    = integer
    default = sql("1; DROP TABLE t") # ERROR: Invalid SQL fragment
  }
  column "tags" { type = sql("text[") } # ERROR: Invalid SQL fragment
  column "ok" {
    type    = text
    default = sql("'semi;colon' || '(paren'")
  }
  primary_key { columns = [column.id] }
  index "t_where" {
    columns = [column.n]
    where   = "n > 0) OR (true" # ERROR: Invalid SQL fragment
  }
  check "t_check" { expr = "n > 0 -- comment" } # ERROR: Invalid SQL fragment
}

policy "p" {
  on    = table.t
  using = "true); DELETE FROM t; SELECT (1" # ERROR: Invalid SQL fragment
}
