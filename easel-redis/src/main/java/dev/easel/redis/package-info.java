/**
 * State shared by a fleet of proxies through Redis: the router's ledger (rpm, tpm and parallel leases), cooldowns,
 * failure counts and latency, and budget holds. A module of its own so the SDK does not carry a Redis client.
 */
package dev.easel.redis;
