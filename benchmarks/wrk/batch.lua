-- POST /v1/cache/batch/get with 100 random keys of a random instance.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
math.randomseed(os.time())
local bodies = {}
for b = 1, 50 do
  local keys = {}
  for k = 1, 100 do keys[k] = '"key-' .. math.random(0, 999) .. '"' end
  bodies[b] = '{"keys": [' .. table.concat(keys, ",") .. ']}'
end
request = function()
  local headers = { ["X-Instance-ID"] = "bench-" .. math.random(0, 9), ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/v1/cache/batch/get", headers, bodies[math.random(1, 50)])
end
