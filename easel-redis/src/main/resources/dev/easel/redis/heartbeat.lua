-- RedisFleet heartbeat: this replica is alive now; returns how many replicas were seen recently.
-- KEYS[1] the fleet (ZSET: replica id -> last heartbeat ms); ARGV: now ms, replica id, horizon ms, TTL ms
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
