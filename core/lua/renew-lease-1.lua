--[[
  Renews a consumer's lease if it is still held with this token.

  KEYS[1]  lease  the consumer's fencing token
  ARGV[1]  token
  ARGV[2]  lease time (ms)

  Returns 0 when renewed, -2 when the lease is not held with this token.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -2
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
