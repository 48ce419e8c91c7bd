--[[
  Argument checks shared by the scripts (spliced in where a script says `--- @include "arguments"`).

  Redis keeps the writes a script made before it failed, so a script parses and checks every
  argument first, with no write on the way, inside `pcall(parse)`; `reject` stops that phase with a
  message, which the script returns as {-4, message}.
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

-- Runs `parse` (which must not write) and turns a rejection into the script's answer.
local function checked(parse)
  local ok, result = pcall(parse)
  if ok then
    return true, result
  end
  return false, {-4, tostring(result)}
end

-- Bounds shared by several scripts: epoch ms up to the year 33658, durations up to 100 years.
local MAX_EPOCH_MS = 1000000000000000
local MAX_DURATION_MS = 3153600000000
