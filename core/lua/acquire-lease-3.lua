--[[
  Takes a consumer's lease with a new fencing token and registers the consumer. Taking it
  over from an earlier holder of the same name is safe: that holder can no longer commit.

  KEYS[1]  lease       string: fencing token, with a TTL
  KEYS[2]  consumers   set of consumer names
  KEYS[3]  processing  the consumer's claimed batch
  ARGV[1]  new token
  ARGV[2]  lease time (ms)
  ARGV[3]  consumer name

  Returns {0, envelopes already in the consumer's processing list}, or {-4, message} when an
  argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'token')
  wholeNumber(ARGV[2], 'lease time', 1, MAX_DURATION_MS)
  nonEmpty(ARGV[3], 'consumer')
end, function()
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  return {0, redis.call('LLEN', KEYS[3])}
end)
