-- usage: ARGV[4] the caller's seed (nano-USD). Returns {spent, held}; a window Redis does not know is not created.
reap()
local seed = tonumber(ARGV[4])
local stored = redis.call('HGET', window, 'spent')
local spent = seed
if stored then
  spent = math.max(tonumber(stored), seed)
end
return {spent, held()}
