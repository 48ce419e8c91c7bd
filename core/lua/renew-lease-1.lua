--[[
  Renews a consumer's lease if it is still held with this token.

  KEYS[1]  lease  the consumer's fencing token
  ARGV[1]  token
  ARGV[2]  lease time (ms)

  Returns {0} when renewed, {-2} when the lease is not held with this token, {-4, message}
  when an argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'token')
  wholeNumber(ARGV[2], 'lease time', 1, MAX_DURATION_MS)
end, function()
  if not holdsLease(KEYS[1], ARGV[1]) then
    return {-2}
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {0}
end)
