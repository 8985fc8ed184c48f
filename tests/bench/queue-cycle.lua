-- queue-cycle.lua: the worker loop of tests/bench/queue, as a wrk script.
--
--   wrk -tN -cN ... -s queue-cycle.lua URL -- USER_TOKEN WORKER_TOKEN QUEUE PARAMS
--
-- Run it with as many threads as connections (-tN -cN): wrk keeps one Lua
-- state per thread, so the state machine below is then per connection.
-- Each connection loops:
--
--   1. POST /api/v1/queue/jobs {"queue":QUEUE,"params":PARAMS}  (user token) -> 202
--   2. POST /api/v1/queue/want_job?queue=QUEUE, X-Accepted-Timeout: 60
--      (worker token) -> 200 + the job with its lease_token; a 204 (another
--      connection took every ready job) asks again and counts in `empty`
--   3. PUT /api/v1/queue/jobs/<id> {"status":"done","result":"ok"}
--      with X-Accepted-Lease-Token (worker token) -> 200: one cycle
--
-- The job a connection leases may be another connection's: workers take
-- whatever is first in the queue, as real ones do.
--
-- A cycle's latency is wall-clock time (CLOCK_MONOTONIC through LuaJIT's
-- FFI; os.clock is CPU time) from the moment wrk asks for the enqueue
-- request to the moment it hands over the finish response: three requests,
-- plus any 204 retries, plus wrk's own Lua time.  done() prints, on
-- stdout, one line that tests/bench/queue parses:
--
--   queue-cycle: cycles=N seconds=S rate=R p50_ms=X p99_ms=Y empty=E errors=F
--
-- errors: answers with an unexpected status (any step); the loop goes on
-- (an unexpected answer to want_job or finish starts a new cycle).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dk_timespec;
int clock_gettime(int clk, dk_timespec *ts);
]]
local ts = ffi.new("dk_timespec")
local function now()
   ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Main state: remember the threads so done() can read their counters.
local threads = {}
function setup(thread)
   table.insert(threads, thread)
end

-- Thread state.
cycles, empty, errors = 0, 0, 0
lat = {}                      -- cycle latencies, ms
local enqueue_req, want_req
local user_h, worker_h
local phase = "enqueue"       -- the request to send next
local t0                      -- start of the current cycle
local job_id, lease
local shown = 0

local function complain(what, status, body)
   errors = errors + 1
   if shown < 3 then
      shown = shown + 1
      io.stderr:write(string.format("queue-cycle: %s answered %d: %s\n",
         what, status, (body or ""):sub(1, 200)))
   end
end

function init(args)
   local user_token, worker_token, queue, params = args[1], args[2], args[3], args[4]
   user_h = { ["Authorization"] = "Bearer " .. user_token,
              ["Content-Type"] = "application/json" }
   worker_h = { ["Authorization"] = "Bearer " .. worker_token,
                ["X-Accepted-Timeout"] = "60" }
   enqueue_req = wrk.format("POST", "/api/v1/queue/jobs", user_h,
      '{"queue":"' .. queue .. '","params":' .. params .. '}')
   want_req = wrk.format("POST", "/api/v1/queue/want_job?queue=" .. queue, worker_h, "")
end

function request()
   if phase == "enqueue" then
      t0 = now()
      return enqueue_req
   elseif phase == "want" then
      return want_req
   else
      return wrk.format("PUT", "/api/v1/queue/jobs/" .. job_id, {
         ["Authorization"] = worker_h["Authorization"],
         ["Content-Type"] = "application/json",
         ["X-Accepted-Lease-Token"] = lease }, '{"status":"done","result":"ok"}')
   end
end

function response(status, headers, body)
   if phase == "enqueue" then
      if status == 202 then
         phase = "want"
      else
         complain("enqueue", status, body)
      end
   elseif phase == "want" then
      if status == 200 then
         job_id = body:match('"id":"([0-9a-fA-F-]+)"')
         lease = body:match('"lease_token":"([0-9a-fA-F-]+)"')
         if job_id and lease then
            phase = "finish"
         else
            complain("want_job (no id or lease_token)", status, body)
            phase = "enqueue"
         end
      elseif status == 204 then
         empty = empty + 1
      else
         complain("want_job", status, body)
         phase = "enqueue"
      end
   else
      if status == 200 then
         cycles = cycles + 1
         lat[#lat + 1] = (now() - t0) * 1000
      else
         complain("finish", status, body)
      end
      phase = "enqueue"
   end
end

function done(summary, latency, requests)
   local n, e, f, all = 0, 0, 0, {}
   for _, t in ipairs(threads) do
      n = n + t:get("cycles")
      e = e + t:get("empty")
      f = f + t:get("errors")
      for _, v in ipairs(t:get("lat")) do
         all[#all + 1] = v
      end
   end
   table.sort(all)
   local function pct(p)
      if #all == 0 then return 0 end
      local i = math.floor(#all * p) + 1
      if i > #all then i = #all end
      return all[i]
   end
   local secs = summary.duration / 1e6
   io.write(string.format(
      "queue-cycle: cycles=%d seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f empty=%d errors=%d\n",
      n, secs, n / secs, pct(0.50), pct(0.99), e, f))
end
