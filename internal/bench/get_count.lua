-- Scenario 3: scenario 2 with Prefer: count=exact (the total of the tenant's 500 published pages).
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

local path = c.base .. "?select=id,slug,title,published_at&is_published=eq.true&order=published_at.desc&limit=20"

function request()
  local _, h = c.next({ ["Prefer"] = "count=exact" })
  return wrk.format("GET", path, h)
end
