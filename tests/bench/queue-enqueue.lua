-- queue-enqueue.lua: the enqueue load of tests/bench/queue, as a wrk script.
--
--   wrk ... -s queue-enqueue.lua URL -- USER_TOKEN QUEUE PARAMS
--
-- Every request is the same POST /api/v1/queue/jobs {"queue":QUEUE,
-- "params":PARAMS} with the user's token; a 202 is the answer (wrk counts
-- anything else outside 2xx as "Non-2xx").  The request is formatted once
-- and there is no response() hook, so wrk parses nothing and costs as
-- little as for the other routes.

function init(args)
   wrk.method = "POST"
   wrk.path = "/api/v1/queue/jobs"
   wrk.headers["Authorization"] = "Bearer " .. args[1]
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"queue":"' .. args[2] .. '","params":' .. args[3] .. '}'
end
