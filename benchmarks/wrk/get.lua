-- GET a random key of a random instance: 10 instances x 1,000 keys.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
math.randomseed(os.time())
request = function()
  local instance = "bench-" .. math.random(0, 9)
  local key = "key-" .. math.random(0, 999)
  return wrk.format("GET", "/v1/cache/" .. key, { ["X-Instance-ID"] = instance })
end
