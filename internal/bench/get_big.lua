-- Scenario 6: GET all 10,000 rows of tenant t900 (MAX_ROWS is 10000 for the bench).
local c = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, init = c.setup, c.init

local path = c.base .. "?select=*&order=id"

function request()
  return wrk.format("GET", path, { ["Authorization"] = "Token " .. c.big.token, ["X-Tenant-ID"] = c.big.tenant })
end
