-- RedisRouterState.renew: move a live lease's expiry.
-- KEYS[1] the key's live leases; ARGV: now ms, new expiry ms, lease id, lease set slack ms
-- returns 1 renewed, 0 when the lease has ended or expired
local now = tonumber(ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score then
    return 0
end
if tonumber(score) <= now then
    redis.call('ZREM', KEYS[1], ARGV[3])
    return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.max(tonumber(last[2]) - now, 0) + tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return 1
