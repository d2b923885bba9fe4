# The repository's policies.hcl for a Citus cluster (scale_out = "citus"), less
# mediafile_published_only, whose sub-select Citus refuses in a policy, and with
# on_delete = RESTRICT where a tenant table sets null (Citus refuses SET NULL there).
#
# Every `table` is tenant-scoped: pgtenant adds the tenant column, leads every
# key with it, and makes PostgreSQL enforce isolation with forced row-level
# security. `shared_table`s are read-only reference data visible to all tenants.
# Run `pgtenant validate` after editing, then `pgtenant generate`.

tenancy {
  column    = "tenant_id"
  setting   = "app.current_tenant_id"
  header    = "X-Tenant-ID"
  scale_out = "citus"
}

role "app" {
  privileges = [SELECT, INSERT, UPDATE, DELETE]
}

role "reader" {
  privileges = [SELECT]
}

shared_table "content_language" {
  comment = "ISO 639 languages a namespace can be written in."
  column "code" { type = varchar(8) }
  column "name" { type = text }
  primary_key { columns = [column.code] }
}

table "content_namespace" {
  comment = "A site or section of a tenant: pages, categories and tags live in one."
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "slug" { type = varchar(100) }
  column "name" { type = text }
  column "language_code" {
    references = table.content_language
    null       = true
    on_delete  = SET_NULL
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "content_namespace_slug" {
    columns = [column.slug]
    unique  = true
  }
}

table "content_category" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "namespace_id" {
    references = table.content_namespace
    on_delete  = CASCADE
  }
  column "parent_id" {
    references = table.content_category
    null       = true
    on_delete  = RESTRICT
    comment    = "The parent category; null for a top-level category."
  }
  column "slug" { type = varchar(100) }
  column "name" { type = text }
  column "position" {
    type    = integer
    default = 0
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "content_category_namespace_slug" {
    columns = [column.namespace_id, column.slug]
    unique  = true
  }
  check "content_category_not_own_parent" {
    expr = "parent_id IS DISTINCT FROM id"
  }
}

table "content_tag" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "namespace_id" {
    references = table.content_namespace
    on_delete  = CASCADE
  }
  column "slug" { type = varchar(100) }
  column "name" { type = text }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "content_tag_namespace_slug" {
    columns = [column.namespace_id, column.slug]
    unique  = true
  }
}

table "object_storage_objectinstance" {
  comment = "A stored blob: where it lives and what it is. Immutable once written."
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "bucket" { type = varchar(63) }
  column "object_key" { type = text }
  column "content_type" {
    type    = varchar(255)
    default = "application/octet-stream"
  }
  column "size_bytes" { type = bigint }
  column "checksum_sha256" {
    type = varchar(64)
    null = true
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "object_storage_objectinstance_bucket_key" {
    columns = [column.bucket, column.object_key]
    unique  = true
  }
  check "object_storage_objectinstance_size_nonnegative" {
    expr = "size_bytes >= 0"
  }
}

table "file_manager_mediafile" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "object_id" {
    references = table.object_storage_objectinstance
    on_delete  = RESTRICT
  }
  column "title" { type = text }
  column "alt_text" {
    type = text
    null = true
  }
  column "width" {
    type = integer
    null = true
  }
  column "height" {
    type = integer
    null = true
  }
  column "uploaded_by" { type = text }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  check "file_manager_mediafile_dimensions_positive" {
    expr = "(width IS NULL OR width > 0) AND (height IS NULL OR height > 0)"
  }
}

table "webpages_pagetheme" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "name" { type = text }
  column "settings" {
    type    = jsonb
    default = sql("'{}'::jsonb")
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "webpages_pagetheme_name" {
    columns = [column.name]
    unique  = true
  }
}

table "webpages_webpage" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "namespace_id" {
    references = table.content_namespace
    on_delete  = CASCADE
  }
  column "category_id" {
    references = table.content_category
    null       = true
    on_delete  = RESTRICT
  }
  column "theme_id" {
    references = table.webpages_pagetheme
    null       = true
    on_delete  = RESTRICT
  }
  column "hero_media_id" {
    references = table.file_manager_mediafile
    null       = true
    on_delete  = RESTRICT
  }
  column "slug" { type = varchar(200) }
  column "title" { type = text }
  column "body" {
    type = text
    null = true
  }
  column "is_published" {
    type    = boolean
    default = false
  }
  column "published_at" {
    type = timestamptz
    null = true
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  index "webpages_webpage_slug" {
    columns = [column.namespace_id, column.slug]
    unique  = true
  }
  index "webpages_webpage_published" {
    columns = [column.published_at]
    where   = "is_published"
  }
  check "webpages_webpage_published_has_date" {
    expr = "NOT is_published OR published_at IS NOT NULL"
  }
}

table "webpages_webpage_tags" {
  comment = "Which tags a page carries (many-to-many)."
  column "webpage_id" {
    references = table.webpages_webpage
    on_delete  = CASCADE
  }
  column "tag_id" {
    references = table.content_tag
    on_delete  = CASCADE
  }
  primary_key { columns = [column.webpage_id, column.tag_id] }
}

# Readers (for example a public site renderer) see published pages only.
# RESTRICTIVE: ANDed with tenant isolation, so it can only narrow it.
policy "webpage_published_only" {
  on    = table.webpages_webpage
  to    = [role.reader]
  for   = SELECT
  using = "is_published"
}


shared_table "content_country" {
  comment = "ISO 3166 countries."
  column "code" { type = varchar(2) }
  column "name" { type = text }
  column "language_code" { references = table.content_language }
  primary_key { columns = [column.code] }
}
view "published_pages" {
  comment = "Published pages, newest first in search, with their theme's name."
  to      = [role.app, role.reader]
  query   = <<-SQL
    SELECT p.id, p.namespace_id, p.slug, p.title, p.published_at,
           (SELECT t.name FROM webpages_pagetheme t WHERE t.tenant_id = p.tenant_id AND t.id = p.theme_id) AS theme_name
      FROM webpages_webpage p
     WHERE p.is_published
  SQL
  column "id" { type = uuid }
  column "namespace_id" { type = uuid }
  column "slug" { type = varchar(200) }
  column "title" { type = text }
  column "published_at" { type = timestamptz }
  column "theme_name" {
    type    = text
    comment = "Null when the page has no theme."
  }
}

# RPC: GET or POST /rpc/search_pages. STABLE: served on GET, in a read-only transaction.
function "search_pages" {
  comment    = "Published pages whose title contains q (case-insensitive), newest first."
  to         = [role.app, role.reader]
  volatility = STABLE
  arg "q" { type = text }
  returns = setof(view.published_pages)
  body    = <<-SQL
    SELECT * FROM published_pages
     WHERE title ILIKE '%' || q || '%'
     ORDER BY published_at DESC, id
  SQL
}

# RPC: POST /rpc/publish_page. VOLATILE (the default): it writes, so it is never served on GET.
function "publish_page" {
  comment  = "Publishes a page of the current tenant (its publication date is kept if it has one) and returns it."
  to       = [role.app]
  language = plpgsql
  arg "page_id" { type = uuid }
  returns = table.webpages_webpage
  body    = <<-SQL
    DECLARE
      r webpages_webpage;
    BEGIN
      UPDATE webpages_webpage
         SET is_published = true, published_at = coalesce(published_at, now()), updated_at = now()
       WHERE id = page_id
      RETURNING * INTO r;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'no page % in this tenant', page_id USING ERRCODE = 'no_data_found';
      END IF;
      RETURN r;
    END
  SQL
}
