table "webpages_comment" {
  comment = "A reader's comment on a page."
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "webpage_id" {
    references = table.webpages_webpage
    on_delete  = CASCADE
  }
  column "body" { type = text }
  primary_key { columns = [column.id] }
}
