--[[
  Argument checks shared by the scripts (spliced in where a script says `--- @include "arguments"`).

  Redis keeps the writes a script made before it failed, so every script is
  `return withArguments(parse, apply)`: `parse` checks every argument and returns what `apply`
  needs, with no write on the way; `reject` stops it with a message, which the script answers as
  {-4, message}; only then does `apply` run.
]]
local function reject(message)
  error(message, 0)
end

-- A whole number in [min, max], given as decimal digits (no exponent, no fraction).
local function wholeNumber(value, name, min, max)
  if type(value) ~= 'string' or not string.match(value, '^%-?%d+$') then
    reject(name .. ' must be a whole number, got ' .. tostring(value))
  end
  local n = tonumber(value)
  if n < min or n > max then
    reject(name .. ' must be from ' .. min .. ' to ' .. max .. ', got ' .. value)
  end
  return n
end

local function nonEmpty(value, name)
  if type(value) ~= 'string' or value == '' then
    reject(name .. ' must be a non-empty string')
  end
  return value
end

-- A file's read position: `<generation>:<offset>`.
local function position(value, name)
  if type(value) ~= 'string' or not string.match(value, '^%d+:%d+$') then
    reject(name .. ' must be <generation>:<offset>, got ' .. tostring(value))
  end
  return value
end

-- Runs `parse` (which must not write); answers {-4, message} when it rejects, else `apply(parsed)`.
local function withArguments(parse, apply)
  local ok, parsed = pcall(parse)
  if not ok then
    return {-4, tostring(parsed)}
  end
  return apply(parsed)
end

-- Whether the lease at `key` is held with `token` (a fencing token: any other holder is refused).
local function holdsLease(key, token)
  return redis.call('GET', key) == token
end

-- Bounds shared by several scripts: epoch ms up to the year 33658, durations up to 100 years.
local MAX_EPOCH_MS = 1000000000000000
local MAX_DURATION_MS = 3153600000000
