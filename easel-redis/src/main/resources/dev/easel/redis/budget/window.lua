-- The start of every budget script (the script's own lines follow it). One budget window is two keys in one hash
-- slot: KEYS[1], a hash with 'spent' and 'held' (nano-USD) and one field 'h:<id>' per hold (its nano-USD, or 'x'
-- once it expired), and KEYS[2], a sorted set of hold ids scored by expiry (ms; for an expired hold, when its id
-- is forgotten).
-- ARGV[1]: now (ms, the caller's clock); ARGV[2]: how long an expired hold's id is remembered (ms); ARGV[3]: how long
-- the keys are kept when nothing touches them (ms).
local window, holds = KEYS[1], KEYS[2]
local now, memory = tonumber(ARGV[1]), tonumber(ARGV[2])

-- HINCRBY refuses '-0', so a hold of nothing (an unpriced request) is never subtracted
local function unhold(amount)
  if amount ~= '0' then
    redis.call('HINCRBY', window, 'held', '-' .. amount)
  end
end

-- Frees the holds that expired at or before now (a replica that crashed never ends its holds). The id stays,
-- marked 'x', for ARGV[2] more, so a settle that comes after the expiry still counts its cost and frees nothing
-- twice.
local function reap()
  local due = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    local field = 'h:' .. id
    local amount = redis.call('HGET', window, field)
    if amount and amount ~= 'x' then
      unhold(amount)
      redis.call('HSET', window, field, 'x')
      redis.call('ZADD', holds, now + memory, id)
    else
      redis.call('HDEL', window, field)
      redis.call('ZREM', holds, id)
    end
  end
end

local function held()
  local h = tonumber(redis.call('HGET', window, 'held') or 0)
  return math.max(h, 0)
end

-- The keys outlive every hold they remember (the last score, plus the memory for a live one): a window
-- forgotten while idle is seeded again from the spend log, which by then holds every settled cost. A relative
-- time-out, as the caller's clock need not be Redis's.
local function touch()
  local ttl = tonumber(ARGV[3])
  local last = redis.call('ZRANGE', holds, -1, -1, 'WITHSCORES')
  if last[2] then
    ttl = math.max(ttl, tonumber(last[2]) + memory - now)
  end
  redis.call('PEXPIRE', window, ttl)
  if last[2] then
    redis.call('PEXPIRE', holds, ttl)
  end
end
