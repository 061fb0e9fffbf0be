-- GET a random key of a random instance, with a bearer token checked on every request.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
math.randomseed(os.time())
local authorization = "Bearer " .. os.getenv("ROOST_BENCH_TOKEN")
request = function()
  local instance = "bench-" .. math.random(0, 9)
  local key = "key-" .. math.random(0, 999)
  return wrk.format("GET", "/v1/cache/" .. key, { ["X-Instance-ID"] = instance, ["Authorization"] = authorization })
end
