--[[
  The ticker's step: closes every window whose end plus grace has passed (marks it final and
  records a `final` event), takes the set of windows changed since the last tick, and drops
  index entries older than the retention. Returns the changed windows' counts for publishing.

  KEYS[1]  open     sorted set of windows not yet closed
  KEYS[2]  dirty    set of windows changed since the last publish
  KEYS[3]  windows  sorted set of all window starts
  KEYS[4]  changes  stream of window events
  KEYS[5]  closed   string: start of the latest window closed (every window starting at or before
                    it that this shard had is closed); readers of several shards use it to tell a
                    window this shard closed from one it never had
  ARGV[1]  window key prefix
  ARGV[2]  now (epoch ms)
  ARGV[3]  window size (ms)
  ARGV[4]  grace (ms)
  ARGV[5]  retention (ms)

  A window closes at its end plus the grace: when now >= start + size + grace. This is the one
  place that rule is applied.

  Returns {0, windows closed now, start, {field, value, …}, …} with every changed window, or
  {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  return {
    prefix = nonEmpty(ARGV[1], 'window key prefix'),
    now = wholeNumber(ARGV[2], 'now', 0, MAX_EPOCH_MS),
    windowMs = wholeNumber(ARGV[3], 'window size', 1, MAX_DURATION_MS),
    graceMs = wholeNumber(ARGV[4], 'grace', 0, MAX_DURATION_MS),
    retentionMs = wholeNumber(ARGV[5], 'retention', 0, MAX_DURATION_MS),
  }
end, function(args)
  local prefix, now, windowMs, graceMs, retentionMs = args.prefix, args.now, args.windowMs, args.graceMs, args.retentionMs

  local closedThrough = now - windowMs - graceMs
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', closedThrough)
  for _, start in ipairs(due) do
    redis.call('HSET', prefix .. start, 'final', '1')
    redis.call('ZREM', KEYS[1], start)
    redis.call('SADD', KEYS[2], start)
    redis.call('XADD', KEYS[4], '*', 'start', start, 'kind', 'final')
  end

  -- The latest window start at or before closedThrough; never moves back (a clock that stepped back).
  local watermark = math.floor(closedThrough / windowMs) * windowMs
  if watermark > tonumber(redis.call('GET', KEYS[5]) or '-1') then
    redis.call('SET', KEYS[5], string.format('%d', watermark))
  end

  local changed = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
  local out = {0, #due}
  for _, start in ipairs(changed) do
    out[#out + 1] = start
    out[#out + 1] = redis.call('HGETALL', prefix .. start)
  end

  local horizon = now - windowMs - retentionMs
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. horizon)
  redis.call('XTRIM', KEYS[4], 'MINID', '~', tostring(math.max(0, now - retentionMs)))
  return out
end)
