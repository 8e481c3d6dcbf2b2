-- RedisRouterState.recordLatency: exponentially weighted moving average of the latency per image.
-- KEYS[1] the average (ms, as text); ARGV: this call's ms, the weight of a new value, TTL ms
-- returns the new average as text (a Lua number returned to Redis would lose its fraction)
local x = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
local old = redis.call('GET', KEYS[1])
local v = x
if old then
    v = tonumber(old) * (1 - weight) + x * weight
end
local text = string.format('%.17g', v)
redis.call('SET', KEYS[1], text, 'PX', ARGV[3])
return text
