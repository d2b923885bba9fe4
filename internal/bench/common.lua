-- Shared by make bench's wrk scripts (internal/bench/run.sh). Each wrk thread has its own Lua state, so each
-- loads the tenants and tokens (BENCH_DATA, written by run.sh) and keeps its own counter.
local M = {}

local data = dofile(os.getenv("BENCH_DATA"))
M.small, M.big = {}, nil
for _, e in ipairs(data) do
  if e.n == 900 then M.big = e else M.small[#M.small + 1] = e end
end

M.base = "/api/v1/webpages_webpage"
M.counter = 0
M.thread = 0

-- setup runs in wrk's main Lua state: number the threads, so that POSTed slugs never collide.
local threads = 0
function M.setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

function M.init()
  M.thread = thread_no or 0
  math.randomseed(os.time() * 100 + M.thread)
end

-- next returns the next tenant of the rotation (t100 … t119) and its headers.
function M.next(extra)
  M.counter = M.counter + 1
  local e = M.small[(M.counter + M.thread) % #M.small + 1]
  local h = { ["Authorization"] = "Token " .. e.token, ["X-Tenant-ID"] = e.tenant }
  for k, v in pairs(extra or {}) do h[k] = v end
  return e, h
end

-- page returns the id of page p (1000 … 1999) of tenant number n, as internal/bench/load.sql makes it.
function M.page(n, p)
  return string.format("00000%d-0000-4000-8000-%012d", n, p)
end

function M.namespace(n)
  return string.format("00000%d-0000-4000-9000-000000000001", n)
end

return M
