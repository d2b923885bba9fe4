-- Scenario 2: GET a list: a filter, order, limit=20.
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

local path = c.base .. "?select=id,slug,title,published_at&is_published=eq.true&order=published_at.desc&limit=20"

function request()
  local _, h = c.next()
  return wrk.format("GET", path, h)
end
