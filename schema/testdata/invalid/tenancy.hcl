tenancy {
  column  = "Tenant"             # ERROR: Invalid identifier
  setting = "current_tenant"     # ERROR: Invalid setting name
  header  = "X Tenant"           # ERROR: Invalid header name
}

tenancy { # ERROR: Duplicate tenancy block
  header = "Authorization"
}
