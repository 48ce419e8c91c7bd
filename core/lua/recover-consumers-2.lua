--[[
  Puts the claimed batches of consumers whose lease has expired back at the head of the queue,
  in their original order, and forgets those consumers. Their batches were never committed
  (a commit empties the processing list), so they are counted once, by whoever claims them next.

  KEYS[1]  consumers  set of consumer names
  KEYS[2]  queue      list of envelopes
  ARGV[1]  processing key prefix (a consumer's list is prefix .. name)
  ARGV[2]  lease key prefix (a consumer's lease is prefix .. name)

  Returns {0, consumers recovered, envelopes put back}, or {-4, message} when an argument is
  malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'processing key prefix')
  nonEmpty(ARGV[2], 'lease key prefix')
end, function()
  local consumers = redis.call('SMEMBERS', KEYS[1])
  local recovered, envelopes = 0, 0
  for _, name in ipairs(consumers) do
    if redis.call('EXISTS', ARGV[2] .. name) == 0 then
      local processing = ARGV[1] .. name
      local items = redis.call('LRANGE', processing, 0, -1)
      for j = #items, 1, -1 do
        redis.call('LPUSH', KEYS[2], items[j])
      end
      redis.call('DEL', processing)
      redis.call('SREM', KEYS[1], name)
      recovered = recovered + 1
      envelopes = envelopes + #items
    end
  end
  return {0, recovered, envelopes}
end)
