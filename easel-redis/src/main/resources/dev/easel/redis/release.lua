-- RedisRouterState.release: end a lease whose call never reached the provider; its request leaves its window
-- when that window is still the current one.
-- KEYS[1] the key's live leases, KEYS[2] the minute window the lease was taken in
-- ARGV: lease id, 1 when now is still in that window (else 0)
-- returns 1 ended, 0 when it had already ended
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
    return 0
end
if ARGV[2] == '1' then
    local requests = tonumber(redis.call('HGET', KEYS[2], 'req') or '0')
    if requests > 0 then
        redis.call('HINCRBY', KEYS[2], 'req', -1)
    end
end
return 1
