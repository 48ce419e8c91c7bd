--[[
  Claims a batch for a consumer under its lease. If the consumer's processing list still holds
  an uncommitted batch (a crash, or a commit whose answer was lost), that batch is returned
  again instead, so it is counted by exactly one commit.

  KEYS[1]  queue       list of envelopes
  KEYS[2]  processing  the consumer's claimed batch
  KEYS[3]  lease       the consumer's fencing token
  ARGV[1]  token
  ARGV[2]  most envelopes to claim
  ARGV[3]  lease time (ms), renewed here

  Returns {0, envelopes} for a new batch (empty when the queue is empty),
          {1, envelopes} for a batch claimed before and not committed,
          {-2} when the lease is not held with this token.
]]
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {-2}
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
if #pending > 0 then
  return {1, pending}
end
local items = redis.call('LPOP', KEYS[1], ARGV[2])
if not items then
  return {0, {}}
end
redis.call('RPUSH', KEYS[2], unpack(items))
return {0, items}
