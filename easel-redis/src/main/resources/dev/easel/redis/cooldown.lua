-- RedisRouterState.cooldown: rest a deployment until a time, keeping a later rest; the key expires with it.
-- KEYS[1] the rest's end (ms, as text); ARGV: until ms, now ms
-- returns 1 set, 0 kept (already over, or a later rest holds)
local untilMs = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if untilMs <= now then
    return 0
end
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= untilMs then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', string.format('%d', untilMs - now))
return 1
