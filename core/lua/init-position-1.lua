--[[
  Sets a file's read position unless one is stored, and returns the stored one.

  KEYS[1]  offsets  hash: file key -> read position
  ARGV[1]  file key
  ARGV[2]  position to store when none is

  Returns the stored position (ARGV[2] if there was none).
]]
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
