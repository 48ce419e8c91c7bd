--[[
  Moves dead letters of the earlier format (a list of JSON objects
  {reason, message, id, source, host, line, truncated, at}) into the store, oldest first, up to
  ARGV[1] per call, keeping their number order, reason, message and time. Their line is the UTF-8
  text that format kept (not the bytes read) and their envelope was not kept, so they are marked
  legacy and cannot be replayed. An element that is not such an object is kept as its line, with
  reason `unknown`. Then drops the oldest letters beyond the cap, as a commit does.

  KEYS[1]  legacy         list of dead letters in the earlier format
  KEYS[2]  dead letters   hash: number -> record
  KEYS[3]  dead index     sorted set of "<number, 16 digits>:<reason>" by time
  KEYS[4]  dead counters  hash: seq, migrated, trimmed, …
  ARGV[1]  most letters to move (1 to 1,000)
  ARGV[2]  most dead letters kept
  ARGV[3]  now (epoch ms): the time of an element without one

  Returns {0, letters moved, letters dropped at the cap, letters left in the legacy list}, or
  {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"
--- @include "dead-letters"

return withArguments(function()
  return {
    count = wholeNumber(ARGV[1], 'count', 1, 1000),
    max = wholeNumber(ARGV[2], 'dead letter cap', 1, 1000000000),
    now = wholeNumber(ARGV[3], 'now', 0, MAX_EPOCH_MS),
  }
end, function(a)
  local items = redis.call('LPOP', KEYS[1], a.count)
  local entries = {}
  local text = function(value)
    if type(value) == 'string' then
      return value
    end
    return nil
  end
  for _, raw in ipairs(items or {}) do
    local ok, old = pcall(cjson.decode, raw)
    if not ok or type(old) ~= 'table' then
      old = {reason = 'unknown', message = 'not a dead letter of the earlier format', line = raw}
    end
    local reason = text(old.reason)
    if not reason or not string.match(reason, '^[%w_]+$') or #reason > 64 then
      reason = 'unknown'
    end
    local line = text(old.line) or ''
    local at = tonumber(old.at)
    if not at or at < 0 or at > MAX_EPOCH_MS or at ~= math.floor(at) then
      at = a.now
    end
    local header = cjson.encode({
      v = 1,
      reason = reason,
      message = text(old.message) or '',
      at = at,
      replays = 0,
      envelope = false,
      truncated = old.truncated == true,
      bytes = #line,
      legacy = {id = text(old.id), source = text(old.source), host = text(old.host)},
    })
    entries[#entries + 1] = {reason = reason, at = string.format('%d', at), record = header .. '\n' .. line}
  end
  local trimmed = 0
  if #entries > 0 then
    storeDeadLetters(KEYS[2], KEYS[3], KEYS[4], entries)
    redis.call('HINCRBY', KEYS[4], 'migrated', #entries)
    trimmed = trimDeadLetters(KEYS[2], KEYS[3], KEYS[4], a.max)
  end
  return {0, #entries, trimmed, redis.call('LLEN', KEYS[1])}
end)
