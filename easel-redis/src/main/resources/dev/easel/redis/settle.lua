-- RedisRouterState.settle: end a lease whose call reached the provider; its request stays counted.
-- KEYS[1] the key's live leases, KEYS[2] the minute window of now; ARGV: lease id, tokens, window TTL ms
-- returns 1 ended, 0 when it had already ended
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
    return 0
end
local tokens = tonumber(ARGV[2])
if tokens > 0 then
    redis.call('HINCRBY', KEYS[2], 'tok', ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
