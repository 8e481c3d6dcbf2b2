-- settle: ARGV[4] hold id, ARGV[5] the actual cost (nano-USD). Returns 1 when the hold was still known.
reap()
local field = 'h:' .. ARGV[4]
local amount = redis.call('HGET', window, field)
if not amount then
  -- ended already, or forgotten (a restart, a flush): the cost reaches the next seed through the spend log
  return 0
end
if amount ~= 'x' then
  unhold(amount)
end
redis.call('HDEL', window, field)
redis.call('ZREM', holds, ARGV[4])
redis.call('HINCRBY', window, 'spent', ARGV[5])
touch()
return 1
