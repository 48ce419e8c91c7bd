--[[
  Moves a file's read position forward, only from the expected position (compare-and-set), for
  a batch of envelopes that a plain RPUSH appended to the queue just before, in the same
  MULTI/EXEC. The envelopes never pass through Lua: Redis's Lua hashes every byte of every string
  it is handed, which made a push that unpacked them here cost ~1 µs of Redis CPU a line
  (docs/benchmarks.md, "The push without Lua").

  When the stored position is not the expected one (a replayed or concurrent push), the batch is
  taken off the queue again: the transaction changes nothing. Before anything is written the queue
  must end with the batch (its first envelope ARGV[4] places from the end, its last one last);
  if it does not, the RPUSH failed, and nothing is written.

  KEYS[1]  queue    list of envelopes
  KEYS[2]  offsets  hash: file key -> read position
  ARGV[1]  file key
  ARGV[2]  expected position (where this batch starts)
  ARGV[3]  next position (just after the batch's last line)
  ARGV[4]  envelopes the RPUSH appended; 0 moves the position only (a truncation, no RPUSH)
  ARGV[5]  the batch's first envelope, byte for byte (empty when ARGV[4] is 0)
  ARGV[6]  the batch's last envelope, byte for byte (empty when ARGV[4] is 0)

  Returns {0, queue length} on success,
          {-1, stored position or ''} when the stored position is not ARGV[2] (batch taken off),
          {-4, message} when an argument is malformed or the queue does not end with the batch
          (the batch is taken off when the queue ends with it; nothing else is written).
]]
--- @include "arguments"

-- Whether the queue ends with the batch of `count` envelopes from `first` to `last`.
local function endsWithBatch(count, first, last)
  return count > 0 and redis.call('LINDEX', KEYS[1], -count) == first and redis.call('LINDEX', KEYS[1], -1) == last
end

local count = tonumber(ARGV[4])
local ok, parsed = pcall(function()
  local b = {count = wholeNumber(ARGV[4], 'envelope count', 0, 100000000)}
  b.fileKey = nonEmpty(ARGV[1], 'file key')
  position(ARGV[2], 'expected position')
  position(ARGV[3], 'next position')
  if b.count > 0 then
    nonEmpty(ARGV[5], 'first envelope')
    nonEmpty(ARGV[6], 'last envelope')
  end
  return b
end)
if not ok then
  -- The RPUSH ran before this script: a refused push must not leave its batch queued.
  if count and count == math.floor(count) and endsWithBatch(count, ARGV[5], ARGV[6]) then
    redis.call('LTRIM', KEYS[1], 0, -(count + 1))
  end
  return {-4, tostring(parsed)}
end
if parsed.count > 0 and not endsWithBatch(parsed.count, ARGV[5], ARGV[6]) then
  return {-4, 'the queue does not end with the batch: its RPUSH did not run'}
end
local stored = redis.call('HGET', KEYS[2], parsed.fileKey)
if stored ~= ARGV[2] then
  if parsed.count > 0 then
    redis.call('LTRIM', KEYS[1], 0, -(parsed.count + 1))
  end
  return {-1, stored or ''}
end
redis.call('HSET', KEYS[2], parsed.fileKey, ARGV[3])
return {0, redis.call('LLEN', KEYS[1])}
