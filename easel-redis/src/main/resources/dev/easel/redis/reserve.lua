-- RedisRouterState.reserve: check rpm, tpm and max_parallel for one key and take a lease, in one atomic step.
-- KEYS[1] the key's live leases (ZSET: lease id -> expiry, epoch ms), KEYS[2] the minute window of now (HASH req, tok)
-- ARGV: now ms, expiry ms, lease id, rpm, tpm, max_parallel (-1 = no limit), window TTL ms, lease set slack ms
-- returns 0 granted, 1 refused by rpm, 2 by tpm, 3 by max_parallel
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[4])
local tpm = tonumber(ARGV[5])
local parallel = tonumber(ARGV[6])
-- leases that expired at or before now free their slots first (a replica that crashed never ends its own)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local window = redis.call('HMGET', KEYS[2], 'req', 'tok')
local requests = tonumber(window[1]) or 0
local tokens = tonumber(window[2]) or 0
if rpm >= 0 and requests >= rpm then
    return 1
end
if tpm >= 0 and tokens >= tpm then
    return 2
end
if parallel >= 0 and redis.call('ZCARD', KEYS[1]) >= parallel then
    return 3
end
redis.call('HINCRBY', KEYS[2], 'req', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
-- the set lives as long as its latest lease (plus slack for replicas' clocks), never forever
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.max(tonumber(last[2]) - now, 0) + tonumber(ARGV[8])
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return 0
