-- PUT a 100-byte value to a random key of a random instance.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
math.randomseed(os.time())
local value = string.rep("v", 100)
request = function()
  local instance = "bench-" .. math.random(0, 9)
  local key = "key-" .. math.random(0, 999)
  return wrk.format("PUT", "/v1/cache/" .. key, { ["X-Instance-ID"] = instance }, value)
end
