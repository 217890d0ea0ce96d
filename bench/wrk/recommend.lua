-- POST /v1/recommend for known users, rotating over BENCH_USERS (one id per line), with the
-- X-API-Key header. BENCH_REQUEST_ID_PREFIX set: every request carries a unique X-Request-ID
-- (the soak matches them to the exposure events the service writes).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local surface = os.getenv("BENCH_SURFACE") or "home"
local k = tonumber(os.getenv("BENCH_K") or "20")
local rid_prefix = os.getenv("BENCH_REQUEST_ID_PREFIX")
local headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = os.getenv("BENCH_API_KEY") }
local bodies, prepared = {}, {}
local cursor, counter = 0, 0

local function quoted(text)
  return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function init(args)
  for line in io.lines(os.getenv("BENCH_USERS")) do
    if line ~= "" then
      local body = string.format('{"surface":%s,"user_id":%s,"k":%d}', quoted(surface), quoted(line), k)
      bodies[#bodies + 1] = body
      if not rid_prefix then
        prepared[#prepared + 1] = wrk.format("POST", wrk.path, headers, body)
      end
    end
  end
  assert(#bodies > 0, "BENCH_USERS names no user")
  -- Threads start at different users so they do not request the same ones in step.
  cursor = ((id or 1) - 1) * math.floor(#bodies / 7) % #bodies
end

function request()
  cursor = cursor % #bodies + 1
  if rid_prefix then
    counter = counter + 1
    headers["X-Request-ID"] = string.format("%s%d-%d", rid_prefix, id or 0, counter)
    return wrk.format("POST", wrk.path, headers, bodies[cursor])
  end
  return prepared[cursor]
end
