--[[
  Appends a batch of envelopes to the queue and moves the file's read position forward,
  atomically, only if the stored position is the one the batch starts at (compare-and-set).
  A replayed or concurrent push therefore changes nothing.

  KEYS[1]  queue    list of envelopes
  KEYS[2]  offsets  hash: file key -> read position
  ARGV[1]  file key
  ARGV[2]  expected position (where this batch starts)
  ARGV[3]  next position (just after the batch's last line)
  ARGV[4]  the envelopes, oldest first, as one MessagePack array of byte strings
           (one argument: far cheaper for client and server than one argument each);
           an empty array moves the position only (a truncation)

  Returns {0, queue length} on success,
          {-1, stored position or ''} when the stored position is not ARGV[2],
          {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  local fileKey = nonEmpty(ARGV[1], 'file key')
  position(ARGV[2], 'expected position')
  position(ARGV[3], 'next position')
  local ok, envelopes = pcall(cmsgpack.unpack, ARGV[4] or '')
  if not ok or type(envelopes) ~= 'table' then
    reject('envelopes must be one MessagePack array')
  end
  for i = 1, #envelopes do
    if type(envelopes[i]) ~= 'string' then
      reject('envelope ' .. i .. ' is not a byte string')
    end
  end
  return {fileKey = fileKey, envelopes = envelopes}
end, function(parsed)
  local stored = redis.call('HGET', KEYS[2], parsed.fileKey)
  if stored ~= ARGV[2] then
    return {-1, stored or ''}
  end
  local length
  if #parsed.envelopes > 0 then
    length = redis.call('RPUSH', KEYS[1], unpack(parsed.envelopes))
  else
    length = redis.call('LLEN', KEYS[1])
  end
  redis.call('HSET', KEYS[2], parsed.fileKey, ARGV[3])
  return {0, length}
end)
