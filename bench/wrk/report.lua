-- Shared by the bench wrk scripts: per-thread status counts and one JSON line from done().
-- Loaded with dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua"); bench/harness.py parses it.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

-- Counting statuses makes wrk hand every response to Lua: only when asked (the soak needs
-- 5xx apart from 4xx; throughput runs use wrk's own count of responses >= 400).
if os.getenv("BENCH_COUNT_STATUS") == "1" then
  statuses = {}
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

-- A steady rate instead of a closed loop: each connection waits this long between requests.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

local function object(fields)
  local parts = {}
  for key, value in pairs(fields) do
    parts[#parts + 1] = string.format('"%s":%s', tostring(key), tostring(value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local per_thread = thread:get("statuses")
    if per_thread then
      for status, n in pairs(per_thread) do
        counts[status] = (counts[status] or 0) + n
      end
    end
  end
  local e = summary.errors
  local line = object({
    requests = summary.requests,
    duration_us = summary.duration,
    latency_us = object({
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p99 = latency:percentile(99),
      ["p99.9"] = latency:percentile(99.9),
      max = latency.max,
      mean = latency.mean,
    }),
    errors = object({
      connect = e.connect, read = e.read, write = e.write, status = e.status, timeout = e.timeout,
    }),
    statuses = object(counts),
  })
  io.write("BENCH_JSON " .. line .. "\n")
end
