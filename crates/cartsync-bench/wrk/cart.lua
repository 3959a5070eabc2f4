-- wrk script for cartsync-loadgen's third-party check: one cart per
-- connection (run with -t N -c N, so one connection per thread), a fresh
-- UUID per request, add_item alternating with set_quantity conditional on
-- the version of the previous answer's ETag. The cart tokens come one per
-- line from the file named after `--`. Prints one WRK_RESULT line.
threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

function init(args)
  local i = 0
  for line in io.lines(args[1]) do
    i = i + 1
    if i == id then token = line end
  end
  path = "/api/v1/carts/" .. token .. "/mutations"
  version, seq, applied, errors = 0, 0, 0, 0
  math.randomseed(os.time() * 1000 + id)
end

local function uuid()
  local t = {}
  for i = 1, 32 do t[i] = string.format("%x", math.random(0, 15)) end
  t[13] = "4"
  t[17] = string.format("%x", 8 + math.random(0, 3))
  local s = table.concat(t)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21, 32)
end

function request()
  seq = seq + 1
  local line = '"options":{"line":"w' .. id .. '"}'
  local body
  if seq % 2 == 1 then
    body = '{"mutations":[{"id":"' .. uuid() .. '","base_version":null,"command":{"type":"add_item","sku":"tee-black","quantity":1,' .. line .. '}}]}'
  else
    local q = (seq % 4 < 2) and 2 or 1
    body = '{"mutations":[{"id":"' .. uuid() .. '","base_version":' .. version .. ',"command":{"type":"set_quantity","sku":"tee-black",' .. line .. ',"quantity":' .. q .. '}}]}'
  end
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 200 then
    applied = applied + 1
    local etag = headers["etag"] or headers["ETag"]
    if etag then version = tonumber(etag:match("%d+")) end
  else
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local a, e = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("applied")
    e = e + t:get("errors")
  end
  io.write(string.format("WRK_RESULT requests=%d applied=%d non2xx=%d p50_us=%d p99_us=%d secs=%.3f\n",
    summary.requests, a, e, latency:percentile(50), latency:percentile(99), summary.duration / 1e6))
end
