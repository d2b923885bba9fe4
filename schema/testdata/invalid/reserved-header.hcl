tenancy {
  header = "Authorization" # ERROR: Invalid header name
}
