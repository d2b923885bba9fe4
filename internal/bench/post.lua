-- Scenario 4: POST one page (Prefer: return=minimal, the default: 201 without a body).
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

function request()
  local e, h = c.next({ ["Content-Type"] = "application/json" })
  local slug = string.format("wrk-%d-%d-%d", os.time(), c.thread, c.counter)
  local body = string.format('{"namespace_id":"%s","slug":"%s","title":"Posted by wrk","body":"A page posted by make bench."}',
    c.namespace(e.n), slug)
  return wrk.format("POST", c.base, h, body)
end
