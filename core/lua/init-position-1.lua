--[[
  Sets a file's read position unless one is stored, and returns the stored one.

  KEYS[1]  offsets  hash: file key -> read position
  ARGV[1]  file key
  ARGV[2]  position to store when none is

  Returns {0, stored position (ARGV[2] if there was none)}, or {-4, message} when an argument
  is malformed (nothing written).
]]
--- @include "arguments"

return withArguments(function()
  nonEmpty(ARGV[1], 'file key')
  position(ARGV[2], 'position')
end, function()
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
  return {0, redis.call('HGET', KEYS[1], ARGV[1])}
end)
