shared_table "content_country" {
  comment = "ISO 3166 countries."
  column "code" { type = varchar(2) }
  column "name" { type = text }
  column "language_code" { references = table.content_language }
  primary_key { columns = [column.code] }
}
