--[[
  Deletes dead letters made before a time, in one step: each given letter that is still stored
  and older than the cutoff is removed; younger ones are kept, whatever the caller selected, so
  a purge never deletes a letter made after its cutoff.

  KEYS[1]  dead letters   hash: number -> record
  KEYS[2]  dead index     sorted set of "<number, 16 digits>:<reason>" by time
  KEYS[3]  dead counters  hash: purged, …
  ARGV[1]  cutoff (epoch ms): letters made before it are deleted
  ARGV[2…] numbers of the letters to delete (at most 5,000)

  Returns {0, deleted numbers, numbers already gone, numbers kept (not older than the cutoff)},
  or {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"
--- @include "dead-letters"

return withArguments(function()
  local cutoff = wholeNumber(ARGV[1], 'cutoff', 0, MAX_EPOCH_MS)
  checkDeadLetterNumbers()
  return cutoff
end, function(cutoff)
  local deleted, gone, kept = {}, {}, {}
  for i = 2, #ARGV do
    local id = ARGV[i]
    local record = redis.call('HGET', KEYS[1], id)
    if not record then
      gone[#gone + 1] = id
    else
      local header = deadLetterHeader(record)
      local score = header and redis.call('ZSCORE', KEYS[2], deadLetterMember(tonumber(id), header.reason))
      if score and tonumber(score) < cutoff then
        removeDeadLetter(KEYS[1], KEYS[2], id, header)
        deleted[#deleted + 1] = id
      else
        kept[#kept + 1] = id
      end
    end
  end
  if #deleted > 0 then
    redis.call('HINCRBY', KEYS[3], 'purged', #deleted)
  end
  return {0, deleted, gone, kept}
end)
