-- wrk script for bench/throughput.py: alternate POST /payments/setups and GET /payments/setups/{id}.
-- Usage: wrk -t1 -c8 -d5s -s bench/mix.lua http://127.0.0.1:PORT -- SECRET_KEY SETUP_ID JSON_BODY
-- Prints one machine-readable line at the end (latencies in microseconds).

local post, get
local n = 0

function init(args)
  local auth = "Bearer " .. args[1]
  get = wrk.format("GET", "/payments/setups/" .. args[2], {["Authorization"] = auth, ["Accept"] = "application/json"})
  post = wrk.format("POST", "/payments/setups",
    {["Authorization"] = auth, ["Accept"] = "application/json", ["Content-Type"] = "application/json"}, args[3])
end

function request()
  n = n + 1
  if n % 2 == 1 then return post end
  return get
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
