-- Scenario 7: GET a list with embeds: scenario 2's 20 pages, each with its theme (many-to-one) and its tags
-- (many-to-many through webpages_webpage_tags).
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

local path = c.base .. "?select=id,slug,title,published_at,webpages_pagetheme(name),content_tag(name)" ..
  "&is_published=eq.true&order=published_at.desc&limit=20"

function request()
  local _, h = c.next()
  return wrk.format("GET", path, h)
end
