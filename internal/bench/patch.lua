-- Scenario 5: PATCH one page by primary key (204).
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

function request()
  local e, h = c.next({ ["Content-Type"] = "application/json" })
  local body = string.format('{"title":"Patched by wrk %d"}', c.counter)
  return wrk.format("PATCH", c.base .. "?id=eq." .. c.page(e.n, math.random(1000, 1999)), h, body)
end
