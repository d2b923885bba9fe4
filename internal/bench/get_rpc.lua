-- Scenario 8: GET /rpc/search_pages, a STABLE set-returning function of policies.hcl (published pages whose title
-- contains q, over the view published_pages), with the read grammar on its rows: the first 20.
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

local path = "/api/v1/rpc/search_pages?q=Page+1&select=id,slug,title,published_at&limit=20"

function request()
  local _, h = c.next()
  return wrk.format("GET", path, h)
end
