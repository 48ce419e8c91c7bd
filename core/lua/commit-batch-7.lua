--[[
  Commits a claimed batch, fenced by the lease: adds the batch's counts to its windows, appends
  its dead letters and removes the batch (the first ARGV[6] envelopes) from the processing list,
  all or nothing. Counts that land in a window already closed are also added to its `late`
  field, and the window is marked revised.

  KEYS[1]  lease       the consumer's fencing token
  KEYS[2]  processing  the consumer's claimed batch
  KEYS[3]  windows     sorted set of all window starts
  KEYS[4]  open        sorted set of windows not yet closed
  KEYS[5]  dirty       set of windows changed since the last publish
  KEYS[6]  dead        list of dead letters
  KEYS[7]  changes     stream of window events
  ARGV[1]  token
  ARGV[2]  lease time (ms), renewed here
  ARGV[3]  window key prefix (a window's key is prefix .. start)
  ARGV[4]  window size (ms)
  ARGV[5]  retention (ms): a window expires this long after its end
  ARGV[6]  envelopes in the batch (the first ones of the processing list)
  ARGV[7]  number of dead letters D, followed by D dead letters (JSON)
  then, per window: start, orders in it, number of field pairs P, then P pairs (field, increment)

  Returns {0, late orders} on success, {-2} when the lease is not held with this token.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {-2}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])

local prefix = ARGV[3]
local windowMs = tonumber(ARGV[4])
local retentionMs = tonumber(ARGV[5])
local batchSize = tonumber(ARGV[6])
local i = 7
local deadCount = tonumber(ARGV[i])
i = i + 1
if deadCount > 0 then
  redis.call('RPUSH', KEYS[6], unpack(ARGV, i, i + deadCount - 1))
  i = i + deadCount
end

local late = 0
while i <= #ARGV do
  local start = ARGV[i]
  local orders = tonumber(ARGV[i + 1])
  local fieldCount = tonumber(ARGV[i + 2])
  i = i + 3
  local key = prefix .. start
  local final = redis.call('HGET', key, 'final') == '1'
  for j = i, i + 2 * fieldCount - 1, 2 do
    redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1])
  end
  i = i + 2 * fieldCount
  if final then
    if orders > 0 then
      redis.call('HINCRBY', key, 'late', orders)
      late = late + orders
      redis.call('XADD', KEYS[7], '*', 'start', start, 'kind', 'revised')
    end
  else
    redis.call('ZADD', KEYS[4], start, start)
  end
  redis.call('ZADD', KEYS[3], start, start)
  redis.call('SADD', KEYS[5], start)
  redis.call('PEXPIREAT', key, tonumber(start) + windowMs + retentionMs)
end

redis.call('LTRIM', KEYS[2], batchSize, -1)
return {0, late}
