-- wrk script for bench/http-load.ts: cycles through the request paths listed one per line in the
-- file named by its first argument (headers from wrk's -H), and prints one line
-- `XCD_RESULT {json}` with the request count, errors and latency percentiles in microseconds.
-- Decides nothing about what is measured.

local requests = {}
local n = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then requests[#requests + 1] = wrk.format("GET", line) end
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'XCD_RESULT {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
