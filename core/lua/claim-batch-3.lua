--[[
  Claims envelopes for a consumer under its lease.

  Mode `resume` (right after taking the lease) returns everything in the consumer's processing
  list: batches claimed before and never committed (a crash, a commit whose answer was lost, a
  lost lease), to be counted again, exactly once.
  Mode `next` moves up to ARGV[2] envelopes from the queue to the end of the processing list and
  returns them; the list may still hold the batch being committed (claims are prefetched), and
  must hold exactly ARGV[5] envelopes, as many as the consumer has claimed and not committed.
  Anything else means that Redis lost writes it had acknowledged (a failover to a replica that
  had not received them: a commit undone, its batch back in the list), and the claim is refused
  with {-3}, so that the consumer recounts its list instead of leaving it there.

  KEYS[1]  queue       list of envelopes
  KEYS[2]  processing  the consumer's claimed envelopes, in claim order
  KEYS[3]  lease       the consumer's fencing token
  ARGV[1]  token
  ARGV[2]  most envelopes to claim (mode next)
  ARGV[3]  lease time (ms), renewed here
  ARGV[4]  mode: resume | next
  ARGV[5]  envelopes the consumer holds claimed and not committed (mode next; empty: not checked)

  Returns {0, envelopes as one MessagePack array of byte strings} (one reply string instead of one
  per envelope: far cheaper for the client to read), {-2} when the lease is not held with this
  token, {-3} when the processing list does not hold what the consumer holds, or {-4, message} when
  an argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'token')
  wholeNumber(ARGV[2], 'claim size', 1, 1000000)
  wholeNumber(ARGV[3], 'lease time', 1, MAX_DURATION_MS)
  if ARGV[4] ~= 'resume' and ARGV[4] ~= 'next' then
    reject('mode must be resume or next, got ' .. tostring(ARGV[4]))
  end
  if ARGV[5] ~= '' then
    wholeNumber(ARGV[5], 'claimed envelopes', 0, 1000000000)
  end
end, function()
  if not holdsLease(KEYS[3], ARGV[1]) then
    return {-2}
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  if ARGV[4] == 'resume' then
    return {0, cmsgpack.pack(redis.call('LRANGE', KEYS[2], 0, -1))}
  end
  if ARGV[5] ~= '' and redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[5]) then
    return {-3}
  end
  local items = redis.call('LPOP', KEYS[1], ARGV[2])
  if not items then
    return {0, cmsgpack.pack({})}
  end
  redis.call('RPUSH', KEYS[2], unpack(items))
  return {0, cmsgpack.pack(items)}
end)
