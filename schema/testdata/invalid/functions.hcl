# Functions: names are identifiers of their own (not a table's, a view's or a
# PostgreSQL function a declaration may not call), arguments are unique with
# defaults only at the end, the return type names a declared table or view,
# and the roles are declared.
role "app" { privileges = [SELECT] }

table "page" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}

function "page" { # ERROR: Duplicate function
  to      = [role.app]
  returns = void
  body    = "SELECT 1"
}

function "set_config" { # ERROR: Reserved function name
  to      = [role.app]
  returns = void
  body    = "SELECT 1"
}

function "twice" {
  to      = [role.app]
  returns = integer
  body    = "SELECT 1"
}

function "twice" { # ERROR: Duplicate function
  to      = [role.app]
  returns = integer
  body    = "SELECT 2"
}

function "Bad_Name" { # ERROR: Invalid identifier
  to      = [role.ghost] # ERROR: Unknown role
  returns = table.pages # ERROR: Unknown table
  body    = "SELECT * FROM page"
}

function "args" {
  to = [role.app]
  arg "a" {
    type    = integer
    default = 1
  }
  arg "b" { type = integer } # ERROR: Argument without default
  arg "a" { type = text }    # ERROR: Duplicate argument
  returns = setof(view.pages) # ERROR: Unknown view
  body    = "SELECT * FROM page"
}

function "keywords" {
  to         = [role.app]
  language   = python    # ERROR: Invalid function language
  volatility = stable    # ERROR: Invalid volatility
  returns    = setof(void) # ERROR: Invalid return type
  body       = "SELECT 1"
}

function "no_roles" {
  to      = [] # ERROR: Empty role list
  returns = void
  body    = "" # ERROR: Invalid function body
}
