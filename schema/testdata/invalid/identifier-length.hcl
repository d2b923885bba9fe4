table "a_table_name_of_fifty_three_bytes_which_is_allowed_x" { # ERROR: Identifier too long
  column "id" { type = uuid }
  column "parent_ref" { type = uuid }
  column "this_column_name_is_certainly_much_longer_than_sixty_three_bytes_x" { type = text } # ERROR: Identifier too long
  primary_key { columns = [column.id] }
  foreign_key "short_fk" { # ERROR: Identifier too long
    columns     = [column.parent_ref]
    ref_columns = [table.a_table_name_of_fifty_three_bytes_which_is_allowed_x.column.id]
  }
}

table "BadName" { # ERROR: Invalid identifier
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}
