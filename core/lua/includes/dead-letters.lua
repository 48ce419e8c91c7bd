--[[
  The dead-letter store (spliced in where a script says `--- @include "dead-letters"`); the Lua
  half of `core/dead-letter.ts`.

  letters   hash: number -> record (a JSON header, a newline, the queue element's bytes)
  index     sorted set: "<number, 16 digits>:<reason>" scored by when the letter was made (ms); the
            number is zero-padded so that letters made in the same millisecond sort by number
  counters  hash: seq (the last number given out), trimmed, replayed, purged, migrated
]]

-- Most letters one call drops to get back under the cap, so that no call holds Redis for long
-- (a cap lowered by a lot is reached over several calls).
local MAX_TRIM_PER_CALL = 10000

-- Checks, in a script's parse phase (no write), that ARGV[2…] are 1 to 5000 dead-letter numbers.
-- Needs the "arguments" include before this one.
local function checkDeadLetterNumbers()
  if #ARGV < 2 or #ARGV > 5001 then
    reject('give from 1 to 5000 dead-letter numbers, got ' .. (#ARGV - 1))
  end
  for i = 2, #ARGV do
    wholeNumber(ARGV[i], 'dead-letter number', 1, 9007199254740991)
  end
end

local function deadLetterMember(id, reason)
  return string.format('%016d', id) .. ':' .. reason
end

-- Stores `entries` ({reason, at, record} each) under new numbers, in order: one HSET and one ZADD
-- per 500 letters (each call from Lua costs more than the entry it adds; 500 keeps `unpack` small).
local function storeDeadLetters(letters, index, counters, entries)
  local last = redis.call('HINCRBY', counters, 'seq', #entries)
  local fields, scores = {}, {}
  for k, entry in ipairs(entries) do
    local id = last - #entries + k
    fields[#fields + 1] = string.format('%d', id)
    fields[#fields + 1] = entry.record
    scores[#scores + 1] = entry.at
    scores[#scores + 1] = deadLetterMember(id, entry.reason)
    if #fields == 1000 or k == #entries then
      redis.call('HSET', letters, unpack(fields))
      redis.call('ZADD', index, unpack(scores))
      fields, scores = {}, {}
    end
  end
end

-- Drops the oldest letters beyond `max` (at most MAX_TRIM_PER_CALL); returns how many it dropped.
local function trimDeadLetters(letters, index, counters, max)
  local over = redis.call('ZCARD', index) - max
  if over <= 0 then
    return 0
  end
  if over > MAX_TRIM_PER_CALL then
    over = MAX_TRIM_PER_CALL
  end
  local oldest = redis.call('ZRANGE', index, 0, over - 1)
  local ids = {}
  for i = 1, #oldest do
    ids[#ids + 1] = string.format('%d', tonumber(string.match(oldest[i], '^(%d+):')) or 0)
    if #ids == 1000 or i == #oldest then
      redis.call('HDEL', letters, unpack(ids))
      ids = {}
    end
  end
  redis.call('ZREMRANGEBYRANK', index, 0, over - 1)
  redis.call('HINCRBY', counters, 'trimmed', over)
  return over
end

-- A record's header (a table) and the position of the newline after it; nil for a broken record.
local function deadLetterHeader(record)
  local newline = string.find(record, '\n', 1, true)
  if not newline then
    return nil
  end
  local ok, header = pcall(cjson.decode, string.sub(record, 1, newline - 1))
  if not ok or type(header) ~= 'table' or type(header.reason) ~= 'string' then
    return nil
  end
  return header, newline
end

-- Removes one letter whose header is known.
local function removeDeadLetter(letters, index, id, header)
  redis.call('HDEL', letters, id)
  redis.call('ZREM', index, deadLetterMember(tonumber(id), header.reason))
end
