-- RedisRouterState.recordFailure: count a failure and return the failures of the minute before now.
-- KEYS[1] the failures (ZSET: unique member -> time ms); ARGV: now ms, member, horizon ms (now - 60 s), TTL ms
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
-- older than the horizon leaves; exactly a minute old stays (as in the in-process state)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
