/**
 * What Easel does to a validated request before an adapter sees it, in one place for every provider: sizes mapped
 * to what the model takes (nearest allowed size, or aspect ratio and resolution tier), the OpenAI alpha mask
 * converted to the model's convention, {@code n} fanned out into parallel calls where a model makes fewer images
 * per call, and a request adapted to a fallback model. Not API: the engine's.
 */
package dev.easel.adapt;
