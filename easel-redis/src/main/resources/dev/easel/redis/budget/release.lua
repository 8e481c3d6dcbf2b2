-- release: ARGV[4] hold id. Returns 1 when the hold was still known.
reap()
local field = 'h:' .. ARGV[4]
local amount = redis.call('HGET', window, field)
if not amount then
  return 0
end
if amount ~= 'x' then
  unhold(amount)
end
redis.call('HDEL', window, field)
redis.call('ZREM', holds, ARGV[4])
touch()
return 1
