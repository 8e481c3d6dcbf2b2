-- hold: ARGV[4] max, ARGV[5] estimate, ARGV[6] the caller's seed (all nano-USD), ARGV[7] hold id,
-- ARGV[8] the hold's expiry (ms). Returns {granted 1|0, spent, held} (held before this hold).
reap()
local seed = tonumber(ARGV[6])
local stored = redis.call('HGET', window, 'spent')
if stored then
  stored = tonumber(stored)
else
  -- Redis has no record of this window (first use, a restart, a flush, idle expiry): the asking replica's view
  -- seeds it, and from now on settlements are counted here
  redis.call('HSET', window, 'spent', ARGV[6])
  stored = seed
end
-- never below the caller's view: a cost Redis did not see settled (its hold was forgotten, or Redis restarted
-- while it was in flight) reaches it through the spend log
local spent = math.max(stored, seed)
local h = held()
local max, estimate = tonumber(ARGV[4]), tonumber(ARGV[5])
if spent + h >= max or spent + h + estimate > max then
  touch()
  return {0, spent, h}
end
redis.call('HINCRBY', window, 'held', ARGV[5])
redis.call('HSET', window, 'h:' .. ARGV[7], ARGV[5])
redis.call('ZADD', holds, ARGV[8], ARGV[7])
touch()
return {1, spent, h}
