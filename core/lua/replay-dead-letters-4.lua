--[[
  Replays dead letters: puts each one's envelope back on the queue and removes the letter from
  the store, in one step. A letter is either still stored or its envelope is on the queue, never
  both and never neither, so a crash, a lost answer or a second replay running at the same time
  can neither replay a letter twice nor lose one: a letter already gone is skipped.

  The envelope goes back as it was claimed (same id, same ingestion time, so the order counts in
  its own window), with `"replays":<n>` at the end of its header, n being the letter's replay
  count plus one; a line that is still bad becomes a new dead letter with that count.

  Letters that cannot be replayed are kept: an element that is not a Crema envelope, a line cut
  to its head (truncated), a letter of the earlier format (legacy), an unreadable record.

  KEYS[1]  dead letters   hash: number -> record
  KEYS[2]  dead index     sorted set of "<number, 16 digits>:<reason>" by time
  KEYS[3]  dead counters  hash: seq, replayed, …
  KEYS[4]  queue          list of envelopes
  ARGV[1]  where on the queue: head | tail
  ARGV[2…] numbers of the letters to replay (at most 5,000), in queue order

  Returns {0, replayed numbers, numbers already gone, numbers kept (cannot be replayed)}, or
  {-4, message} when an argument is malformed (nothing written).
]]
--- @include "arguments"
--- @include "dead-letters"

return withArguments(function()
  if ARGV[1] ~= 'head' and ARGV[1] ~= 'tail' then
    reject('where must be head or tail, got ' .. tostring(ARGV[1]))
  end
  checkDeadLetterNumbers()
end, function()
  local replayed, gone, kept = {}, {}, {}
  local envelopes = {}
  for i = 2, #ARGV do
    local id = ARGV[i]
    local record = redis.call('HGET', KEYS[1], id)
    if not record then
      gone[#gone + 1] = id
    else
      local header, newline = deadLetterHeader(record)
      local envelope = header and header.envelope == true and header.truncated == false and header.legacy == nil
          and string.sub(record, newline + 1)
      local lineAt = envelope and string.find(envelope, '\n', 1, true)
      -- The envelope's header as the collector writes it: a JSON object ending the first line.
      local envelopeHeader = lineAt and string.sub(envelope, 1, lineAt - 1)
      if not envelopeHeader or string.sub(envelopeHeader, 1, 1) ~= '{' or string.sub(envelopeHeader, -1) ~= '}' then
        kept[#kept + 1] = id
      else
        local replays = tonumber(header.replays)
        if not replays or replays < 0 or replays >= 1000000000 then
          replays = 0
        end
        envelopeHeader = string.gsub(envelopeHeader, ',"replays":%d+}$', '}')
        envelopes[#envelopes + 1] = string.sub(envelopeHeader, 1, -2) .. ',"replays":' .. string.format('%d', replays + 1) .. '}'
            .. string.sub(envelope, lineAt)
        removeDeadLetter(KEYS[1], KEYS[2], id, header)
        replayed[#replayed + 1] = id
      end
    end
  end
  if #envelopes > 0 then
    if ARGV[1] == 'tail' then
      redis.call('RPUSH', KEYS[4], unpack(envelopes))
    else
      -- LPUSH puts its last argument first: reversed, the letters keep their order at the head.
      local reversed = {}
      for i = #envelopes, 1, -1 do
        reversed[#reversed + 1] = envelopes[i]
      end
      redis.call('LPUSH', KEYS[4], unpack(reversed))
    end
    redis.call('HINCRBY', KEYS[3], 'replayed', #envelopes)
  end
  return {0, replayed, gone, kept}
end)
