--[[
  Gives up a consumer's lease at shutdown. With an uncommitted batch left, the lease is dropped
  but the consumer stays registered, so the batch is recovered by another processor (or by
  this consumer when it comes back).

  KEYS[1]  lease       the consumer's fencing token
  KEYS[2]  processing  the consumer's claimed batch
  KEYS[3]  consumers   set of consumer names
  ARGV[1]  token
  ARGV[2]  consumer name

  Returns {0, envelopes left in the processing list}, {-2} when the lease was not held with
  this token, or {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'token')
  nonEmpty(ARGV[2], 'consumer')
end, function()
  if not holdsLease(KEYS[1], ARGV[1]) then
    return {-2}
  end
  redis.call('DEL', KEYS[1])
  local left = redis.call('LLEN', KEYS[2])
  if left == 0 then
    redis.call('SREM', KEYS[3], ARGV[2])
  end
  return {0, left}
end)
