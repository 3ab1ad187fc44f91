-- wrk script: every request carries a fresh Idempotency-Key (what retrying clients send); prints
-- the same JSON line as report.lua.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  prefix = string.format("bench-%d-%d-%d", os.time(), math.random(1, 1000000000), tid)
end
function request()
  counter = counter + 1
  -- wrk.format uses the headers given instead of wrk.headers (the api-key): copy them.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format(nil, nil, headers)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"max_ms":%.3f,"errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
