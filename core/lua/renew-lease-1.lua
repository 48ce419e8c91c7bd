--[[
  Renews a consumer's lease if it is still held with this token.

  KEYS[1]  lease  the consumer's fencing token
  ARGV[1]  token
  ARGV[2]  lease time (ms)

  Returns {0} when renewed, {-2} when the lease is not held with this token, {-4, message}
  when an argument is malformed (nothing written).
]]
--- @include "arguments"

local valid, problem = checked(function()
  nonEmpty(ARGV[1], 'token')
  wholeNumber(ARGV[2], 'lease time', 1, MAX_DURATION_MS)
end)
if not valid then
  return problem
end

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {-2}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0}
