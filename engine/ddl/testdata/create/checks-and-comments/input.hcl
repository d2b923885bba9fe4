role "app" { privileges = [SELECT] }

table "account" {
  comment = "A customer's account; it's never deleted."
  column "id" { type = uuid }
  column "balance" {
    type    = numeric(12, 2)
    default = 0
    comment = "In the account's currency."
  }
  column "limit" {
    type = numeric
    null = true
  }
  primary_key { columns = [column.id] }
  check "account_balance_floor" { expr = "balance >= -coalesce(\"limit\", 0)" }
}
