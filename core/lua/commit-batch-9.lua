--[[
  Commits a claimed batch, fenced by the lease: adds the batch's counts to its windows, stores
  its dead letters and removes the batch (the first ARGV[6] envelopes) from the processing list,
  all or nothing. Counts that land in a window already closed are also added to its `late`
  field, and the window is marked revised. When the dead-letter store holds more than ARGV[9]
  letters, the oldest are dropped and counted (`trimmed`).

  Nothing is written unless every argument is well formed, the lease is held with this token,
  and the processing list still starts with exactly this batch (its first and last envelopes
  are where they were claimed). The last check matters after a failover: a replica promoted
  before it had the latest claim or commit holds another list, and trimming it blindly would
  drop envelopes nobody counted.

  KEYS[1]  lease         the consumer's fencing token
  KEYS[2]  processing    the consumer's claimed batch
  KEYS[3]  windows       sorted set of all window starts
  KEYS[4]  open          sorted set of windows not yet closed
  KEYS[5]  dirty         set of windows changed since the last publish
  KEYS[6]  dead letters  hash: number -> record
  KEYS[7]  dead index    sorted set of "<number, 16 digits>:<reason>" by time
  KEYS[8]  dead counters hash: seq, trimmed, …
  KEYS[9]  changes       stream of window events
  ARGV[1]  token
  ARGV[2]  lease time (ms), renewed here
  ARGV[3]  window key prefix (a window's key is prefix .. start)
  ARGV[4]  window size (ms)
  ARGV[5]  retention (ms): a window expires this long after its end
  ARGV[6]  envelopes in the batch N (the first N of the processing list)
  ARGV[7]  the batch's first envelope, byte for byte
  ARGV[8]  the batch's last envelope, byte for byte
  ARGV[9]  most dead letters kept
  ARGV[10] number of dead letters D, followed by D triples (reason, time in ms, record)
  then, per window: start, orders in it, number of field pairs P, then P pairs (field, increment)

  Returns {0, late orders, dead letters dropped at the cap} on success, {-2} when the lease is
  not held with this token, {-3} when the processing list does not start with this batch,
  {-4, message} when an argument is malformed. Only {0, …} writes anything.
]]
--- @include "arguments"
--- @include "dead-letters"

return withArguments(function()
  local b = {}
  nonEmpty(ARGV[1], 'token')
  wholeNumber(ARGV[2], 'lease time', 1, MAX_DURATION_MS)
  b.prefix = nonEmpty(ARGV[3], 'window key prefix')
  b.windowMs = wholeNumber(ARGV[4], 'window size', 1, MAX_DURATION_MS)
  b.retentionMs = wholeNumber(ARGV[5], 'retention', 0, MAX_DURATION_MS)
  b.size = wholeNumber(ARGV[6], 'batch size', 1, 10000000)
  if type(ARGV[7]) ~= 'string' or type(ARGV[8]) ~= 'string' then
    reject('the first and last envelopes of the batch are missing')
  end
  b.deadMax = wholeNumber(ARGV[9], 'dead letter cap', 1, 1000000000)
  local i = 10
  local deadCount = wholeNumber(ARGV[i], 'dead letter count', 0, b.size)
  if i + 3 * deadCount > #ARGV then
    reject('the arguments end inside the dead letters')
  end
  b.dead = {}
  for j = i + 1, i + 3 * deadCount, 3 do
    local reason = nonEmpty(ARGV[j], 'dead letter reason')
    if not string.match(reason, '^[%w_]+$') then
      reject('dead letter reason must be letters, digits and _, got ' .. reason)
    end
    wholeNumber(ARGV[j + 1], 'dead letter time', 0, MAX_EPOCH_MS)
    b.dead[#b.dead + 1] = {reason = reason, at = ARGV[j + 1], record = nonEmpty(ARGV[j + 2], 'dead letter record')}
  end
  i = i + 3 * deadCount + 1
  b.windows = {}
  local counted = 0
  while i <= #ARGV do
    if i + 2 > #ARGV then
      reject('the arguments end inside a window header')
    end
    local w = {}
    w.start = ARGV[i]
    local start = wholeNumber(w.start, 'window start', 0, MAX_EPOCH_MS)
    if start % b.windowMs ~= 0 then
      reject('window start ' .. w.start .. ' is not a multiple of the window size')
    end
    w.expireAt = start + b.windowMs + b.retentionMs
    w.orders = wholeNumber(ARGV[i + 1], 'orders of window ' .. w.start, 0, b.size)
    counted = counted + w.orders
    local fieldCount = wholeNumber(ARGV[i + 2], 'field count of window ' .. w.start, 1, 100000)
    w.from = i + 3
    w.to = i + 2 + 2 * fieldCount
    if w.to > #ARGV then
      reject('the arguments end inside the fields of window ' .. w.start)
    end
    for j = w.from, w.to, 2 do
      nonEmpty(ARGV[j], 'field name')
      wholeNumber(ARGV[j + 1], 'increment of ' .. ARGV[j], 0, 9007199254740991)
    end
    b.windows[#b.windows + 1] = w
    i = w.to + 1
  end
  if counted + deadCount > b.size then
    reject('the batch has ' .. b.size .. ' envelopes but ' .. counted .. ' orders and ' .. deadCount .. ' dead letters')
  end
  return b
end, function(batch)
  if not holdsLease(KEYS[1], ARGV[1]) then
    return {-2}
  end
  if redis.call('LLEN', KEYS[2]) < batch.size
      or redis.call('LINDEX', KEYS[2], 0) ~= ARGV[7]
      or redis.call('LINDEX', KEYS[2], batch.size - 1) ~= ARGV[8] then
    return {-3}
  end

  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local trimmed = 0
  if #batch.dead > 0 then
    storeDeadLetters(KEYS[6], KEYS[7], KEYS[8], batch.dead)
    trimmed = trimDeadLetters(KEYS[6], KEYS[7], KEYS[8], batch.deadMax)
  end

  local late = 0
  for _, w in ipairs(batch.windows) do
    local key = batch.prefix .. w.start
    local final = redis.call('HGET', key, 'final') == '1'
    for j = w.from, w.to, 2 do
      redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1])
    end
    if final then
      if w.orders > 0 then
        redis.call('HINCRBY', key, 'late', w.orders)
        late = late + w.orders
        redis.call('XADD', KEYS[9], '*', 'start', w.start, 'kind', 'revised')
      end
    else
      redis.call('ZADD', KEYS[4], w.start, w.start)
    end
    redis.call('ZADD', KEYS[3], w.start, w.start)
    redis.call('SADD', KEYS[5], w.start)
    redis.call('PEXPIREAT', key, w.expireAt)
  end

  redis.call('LTRIM', KEYS[2], batch.size, -1)
  return {0, late, trimmed}
end)
