-- Scenario 1: GET one page by primary key as a bare object.
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

function request()
  local e, h = c.next({ ["Accept"] = "application/vnd.pgrst.object+json" })
  return wrk.format("GET", c.base .. "?id=eq." .. c.page(e.n, math.random(1000, 1999)), h)
end
