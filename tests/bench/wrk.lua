-- wrk.lua: the request generator of tests/bench/run.
--
--   wrk ... -s wrk.lua URL -- PATH TOKEN [LO HI]
--
-- PATH is requested on every request; with LO and HI, a random integer in
-- [LO, HI] is appended to it (get: "...?job-id=" plus a random job id of
-- the bench user, so PostgreSQL's and nginx's caches see a realistic spread
-- rather than one hot row).  TOKEN "-" sends no Authorization header.

local tid = 0

-- Runs once per wrk thread in the main Lua state: number the threads so
-- each one seeds its own random sequence.
function setup(thread)
   tid = tid + 1
   thread:set("tid", tid)
end

local path, lo, hi, fixed

function init(args)
   path = args[1]
   if args[2] and args[2] ~= "-" then
      wrk.headers["Authorization"] = "Bearer " .. args[2]
   end
   lo, hi = tonumber(args[3]), tonumber(args[4])
   math.randomseed(os.time() * 1000 + (tid or 0))
   if not lo then
      -- Same request every time: format it once.
      fixed = wrk.format("GET", path)
   end
end

function request()
   if fixed then
      return fixed
   end
   return wrk.format("GET", path .. math.random(lo, hi))
end
