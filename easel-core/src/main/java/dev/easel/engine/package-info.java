/**
 * Easel's engine, not its API: the request path (validation, adaptation, routing, the provider call, response
 * normalisation, the log record) that {@link dev.easel.Easel} and the proxy share. Gateways embedding Easel build
 * an {@link dev.easel.engine.Engine} with {@code Easel.builder()....engine()} and call it with parsed requests;
 * applications use {@link dev.easel.Easel}. Types here may change between minor versions.
 */
package dev.easel.engine;
