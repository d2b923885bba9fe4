tenancy {
  column  = "Tenant"             # ERROR: Invalid identifier
  setting = "current_tenant"     # ERROR: Invalid setting name
  header  = "X Tenant"           # ERROR: Invalid header name
  scale_out = "sharded"          # ERROR: Invalid scale_out
}

tenancy { # ERROR: Duplicate tenancy block
  header = "Authorization"
}
