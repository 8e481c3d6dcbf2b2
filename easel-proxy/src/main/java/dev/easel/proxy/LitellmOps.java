package dev.easel.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.catalog.ModelSpec;
import dev.easel.config.LitellmParams;
import dev.easel.cost.CostCalculator;
import dev.easel.engine.DeploymentInfo;
import dev.easel.engine.Engine;
import dev.easel.routing.DeploymentHealth;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * LiteLLM's operational endpoints, in LiteLLM's shapes: {@code GET /health} (each deployment as the router has seen
 * it, without calling any provider), {@code GET /model/info} (and {@code /v1/model/info}) and
 * {@code GET /model_group/info}. Filled from the config, the catalogue and the router; an {@code api_key} or any
 * other secret-looking setting never appears, and an {@code api_base} is shown without user info, query or fragment.
 */
final class LitellmOps {

    /** What every deployment Easel serves does: LiteLLM's {@code mode} for an image edit model. */
    static final String MODE = "image_edit";

    private static final JsonNodeFactory NODES = JsonNodeFactory.withExactBigDecimals(true);
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);

    private final Engine engine;

    LitellmOps(Engine engine) {
        this.engine = engine;
    }

    // ---- GET /health ------------------------------------------------------------------------------

    /**
     * {@code GET /health[?model=<group>][&model_id=<id>]}: {@code healthy_endpoints}, {@code unhealthy_endpoints},
     * {@code healthy_count}, {@code unhealthy_count}. A deployment is unhealthy when its provider is not served, it
     * rests, or the last call the router saw end failed.
     */
    void health(Context ctx) {
        answer(ctx, () -> healthBody(ctx));
    }

    private ObjectNode healthBody(Context ctx) {
        List<DeploymentInfo> selected = select(ctx.queryParam("model"), ctx.queryParam("model_id"));
        ArrayNode healthy = NODES.arrayNode();
        ArrayNode unhealthy = NODES.arrayNode();
        for (DeploymentInfo d : selected) {
            Optional<DeploymentHealth> h = engine.health(d.status().id());
            ObjectNode e = endpoint(d, h);
            String state = state(d, h);
            e.put("state", state);
            if (state.equals("healthy")) {
                healthy.add(e);
            } else {
                e.put("error", error(d, h));
                h.flatMap(DeploymentHealth::lastFailure).flatMap(f -> f.status().isPresent()
                        ? Optional.of(f.status().getAsInt()) : Optional.empty())
                        .ifPresent(s -> e.put("exception_status", s));
                unhealthy.add(e);
            }
        }
        ObjectNode root = NODES.objectNode();
        root.set("healthy_endpoints", healthy);
        root.set("unhealthy_endpoints", unhealthy);
        root.put("healthy_count", healthy.size());
        root.put("unhealthy_count", unhealthy.size());
        return root;
    }

    /** The deployments a {@code /health} query names: all, a group's, or one by id (404 when none matches). */
    private List<DeploymentInfo> select(String model, String modelId) {
        List<DeploymentInfo> all = engine.deploymentInfo();
        if (modelId != null && !modelId.isEmpty()) {
            List<DeploymentInfo> one = all.stream().filter(d -> d.status().id().equals(modelId)).toList();
            if (one.isEmpty()) {
                throw notFound("model_id", "no deployment has model_id '" + modelId + "'");
            }
            return one;
        }
        if (model != null && !model.isEmpty()) {
            // as LiteLLM: the group name, else the deployments' litellm_params.model
            List<DeploymentInfo> group = all.stream().filter(d -> d.status().modelGroup().equals(model)).toList();
            if (group.isEmpty()) {
                group = all.stream().filter(d -> d.entry().params().model().equals(model)).toList();
            }
            if (group.isEmpty()) {
                throw notFound("model", "no deployment serves model '" + model + "' (model_name or "
                        + "litellm_params.model)");
            }
            return group;
        }
        return all;
    }

    private static ObjectNode endpoint(DeploymentInfo d, Optional<DeploymentHealth> h) {
        LitellmParams p = d.entry().params();
        ObjectNode e = NODES.objectNode();
        e.put("model", p.model());
        e.put("model_id", d.status().id());
        e.put("model_name", d.status().modelGroup());
        e.put("custom_llm_provider", d.status().provider());
        e.put("mode", MODE);
        p.apiBaseForDisplay().ifPresent(u -> e.put("api_base", u));
        p.apiVersion().ifPresent(v -> e.put("api_version", v));
        d.entry().modelInfo().baseModel().ifPresent(b -> e.put("base_model", b));
        p.rpm().ifPresent(r -> e.put("rpm", r));
        p.tpm().ifPresent(t -> e.put("tpm", t));
        if (h.isEmpty()) {
            return e;
        }
        DeploymentHealth x = h.get();
        x.remainingRequests().ifPresent(r -> e.put("x-ratelimit-remaining-requests", r));
        x.remainingTokens().ifPresent(r -> e.put("x-ratelimit-remaining-tokens", r));
        x.cooldownUntil().ifPresent(u -> e.put("cooldown_until", u.toString()));
        x.lastSuccess().ifPresent(s -> e.put("last_success_at", s.toString()));
        x.lastFailure().ifPresent(f -> {
            ObjectNode last = e.putObject("last_error");
            last.put("at", f.at().toString());
            if (f.status().isPresent()) {
                last.put("status", f.status().getAsInt());
            }
            last.put("type", f.type());
            f.code().ifPresent(c -> last.put("code", c));
            last.put("exception", f.exception());
            last.put("message", f.message());
        });
        if (x.latencyMillis().isPresent()) {
            e.put("latency_ms", Math.round(x.latencyMillis().getAsDouble()));
        }
        e.put("inflight", x.inflight());
        e.put("requests_this_minute", x.requestsThisMinute());
        e.put("tokens_this_minute", x.tokensThisMinute());
        x.maxParallel().ifPresent(m -> e.put("max_parallel_requests", m));
        ObjectNode rests = e.putObject("cooldowns");
        new java.util.TreeMap<>(x.cooldowns()).forEach(rests::put);
        return e;
    }

    /** {@code healthy}, {@code partial_outage}, {@code outage} (resting), or {@code unavailable} (not served). */
    static String state(DeploymentInfo d, Optional<DeploymentHealth> h) {
        if (!d.status().available() || h.isEmpty()) {
            return "unavailable";
        }
        return h.get().state().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static String error(DeploymentInfo d, Optional<DeploymentHealth> h) {
        if (d.status().unavailableReason().isPresent()) {
            return d.status().unavailableReason().get();
        }
        if (h.isEmpty()) {
            return "the router does not route to this deployment";
        }
        DeploymentHealth x = h.get();
        String last = x.lastFailure().map(f -> f.exception() + " (" + f.statusOrType() + "): " + f.message())
                .orElse("");
        if (x.cooldownUntil().isPresent()) {
            return "cooling down until " + x.cooldownUntil().get() + (last.isEmpty() ? "" : "; last error: " + last);
        }
        return "the last call failed: " + last;
    }

    // ---- GET /model/info --------------------------------------------------------------------------

    /**
     * {@code GET /model/info[?litellm_model_id=<id>]}: one entry per deployment, {@code model_name},
     * {@code litellm_params} without secrets, {@code model_info} with the id, mode, prices and limits.
     */
    void modelInfo(Context ctx) {
        answer(ctx, () -> modelInfoBody(ctx));
    }

    private ObjectNode modelInfoBody(Context ctx) {
        String id = ctx.queryParam("litellm_model_id");
        List<DeploymentInfo> all = engine.deploymentInfo();
        if (id != null && !id.isEmpty()) {
            all = all.stream().filter(d -> d.status().id().equals(id)).toList();
            if (all.isEmpty()) {
                throw notFound("litellm_model_id", "no deployment has model_id '" + id + "'");
            }
        }
        ArrayNode data = NODES.arrayNode();
        for (DeploymentInfo d : all) {
            ObjectNode e = data.addObject();
            e.put("model_name", d.status().modelGroup());
            e.set("litellm_params", params(d.entry().params()));
            e.set("model_info", info(d));
        }
        ObjectNode root = NODES.objectNode();
        root.set("data", data);
        return root;
    }

    private static ObjectNode params(LitellmParams p) {
        ObjectNode o = NODES.objectNode();
        o.put("model", p.model());
        p.apiBaseForDisplay().ifPresent(u -> o.put("api_base", u));
        p.apiVersion().ifPresent(v -> o.put("api_version", v));
        p.timeout().ifPresent(t -> o.put("timeout", seconds(t)));
        p.streamTimeout().ifPresent(t -> o.put("stream_timeout", seconds(t)));
        p.maxRetries().ifPresent(r -> o.put("max_retries", r));
        p.rpm().ifPresent(r -> o.put("rpm", r));
        p.tpm().ifPresent(t -> o.put("tpm", t));
        p.weight().ifPresent(w -> o.put("weight", w));
        p.order().ifPresent(r -> o.put("order", r));
        p.maxParallelRequests().ifPresent(m -> o.put("max_parallel_requests", m));
        p.dropParams().ifPresent(b -> o.put("drop_params", b));
        p.extraWithoutSecrets().forEach((k, v) -> o.set(k, JSON.valueToTree(v)));
        return o;
    }

    private static ObjectNode info(DeploymentInfo d) {
        ModelSpec spec = d.spec();
        ObjectNode o = NODES.objectNode();
        o.put("id", d.status().id());
        o.put("db_model", false);
        o.put("key", spec.id());
        d.entry().modelInfo().baseModel().ifPresent(b -> o.put("base_model", b));
        o.put("litellm_provider", d.status().provider());
        o.put("mode", MODE);
        prices(o, d.rates());
        o.put("max_images", spec.maxImages());
        o.put("max_n", spec.maxN());
        o.put("max_image_bytes", spec.maxImageBytes());
        o.put("max_prompt_length", spec.promptMaxLength());
        o.put("supports_mask", spec.mask().supported());
        o.put("supports_native_streaming", spec.streaming());
        o.put("supports_vision", true); // every edit takes images in
        ArrayNode sp = o.putArray("supported_openai_params");
        supportedParams(spec).forEach(sp::add);
        spec.lifecycle().shutdown().ifPresent(s -> o.put("deprecation_date", s.toString()));
        o.put("known_to_catalogue", spec.known());
        o.put("available", d.status().available());
        d.status().unavailableReason().ifPresent(r -> o.put("unavailable_reason", r));
        return o;
    }

    /** LiteLLM's price fields (USD per token, per image, per pixel): those set, as the bill uses them. */
    private static void prices(ObjectNode o, CostCalculator.Rates r) {
        r.inputCostPerToken().ifPresent(v -> o.put("input_cost_per_token", v));
        r.inputCostPerImageToken().ifPresent(v -> o.put("input_cost_per_image_token", v));
        r.outputCostPerToken().ifPresent(v -> o.put("output_cost_per_token", v));
        r.outputCostPerImageToken().ifPresent(v -> o.put("output_cost_per_image_token", v));
        r.outputCostPerImage().ifPresent(v -> o.put("output_cost_per_image", v));
        r.inputCostPerImage().ifPresent(v -> o.put("input_cost_per_image", v));
        r.inputCostPerPixel().ifPresent(v -> o.put("input_cost_per_pixel", v));
        r.outputCostPerPixel().ifPresent(v -> o.put("output_cost_per_pixel", v));
        if (!r.outputCostPerImageTable().isEmpty()) {
            ObjectNode t = o.putObject("output_cost_per_image_by_quality_size");
            r.outputCostPerImageTable().forEach(t::put);
        }
        r.outputCostPerMegapixel().ifPresent(v -> o.put("output_cost_per_megapixel", v));
        r.megapixels().ifPresent(m -> {
            ObjectNode mp = o.putObject("megapixel_costs");
            mp.put("first_output", m.firstOutput());
            mp.put("extra_output", m.extraOutput());
            mp.put("input", m.input());
        });
    }

    /** The OpenAI edit parameters a request to {@code spec} may carry. */
    static List<String> supportedParams(ModelSpec spec) {
        Set<String> out = new java.util.LinkedHashSet<>(List.of("image", "prompt"));
        if (spec.mask().supported()) {
            out.add("mask");
        }
        out.add("n");
        if (!(spec.sizes() instanceof ModelSpec.SizeRule.FromInput)) {
            out.add("size");
        }
        out.addAll(new TreeSet<>(spec.params().keySet()));
        if (spec.streaming()) {
            out.add("stream");
        }
        return List.copyOf(out);
    }

    // ---- GET /model_group/info --------------------------------------------------------------------

    /**
     * {@code GET /model_group/info[?model_group=<group>]}: one entry per group, LiteLLM's {@code ModelGroupInfo}:
     * providers, mode, the highest price of any deployment (what an edit may cost), summed {@code rpm}/{@code tpm},
     * the union of supported parameters.
     */
    void modelGroupInfo(Context ctx) {
        answer(ctx, () -> modelGroupInfoBody(ctx));
    }

    private ObjectNode modelGroupInfoBody(Context ctx) {
        String wanted = ctx.queryParam("model_group");
        Map<String, List<DeploymentInfo>> groups = new LinkedHashMap<>();
        for (DeploymentInfo d : engine.deploymentInfo()) {
            groups.computeIfAbsent(d.status().modelGroup(), k -> new ArrayList<>()).add(d);
        }
        if (wanted != null && !wanted.isEmpty()) {
            if (!groups.containsKey(wanted)) {
                throw notFound("model_group", "no model group '" + wanted + "'");
            }
            groups = Map.of(wanted, groups.get(wanted));
        }
        ArrayNode data = NODES.arrayNode();
        groups.forEach((name, list) -> data.add(group(name, list)));
        ObjectNode root = NODES.objectNode();
        root.set("data", data);
        return root;
    }

    private static ObjectNode group(String name, List<DeploymentInfo> list) {
        ObjectNode o = NODES.objectNode();
        o.put("model_group", name);
        ArrayNode providers = o.putArray("providers");
        new TreeSet<>(list.stream().map(d -> d.status().provider()).toList()).forEach(providers::add);
        o.putNull("max_input_tokens");
        o.putNull("max_output_tokens");
        max(o, "input_cost_per_token", list, r -> r.inputCostPerToken());
        max(o, "output_cost_per_token", list, r -> r.outputCostPerToken());
        max(o, "input_cost_per_image_token", list, r -> r.inputCostPerImageToken());
        max(o, "output_cost_per_image_token", list, r -> r.outputCostPerImageToken());
        max(o, "output_cost_per_image", list, r -> r.outputCostPerImage());
        max(o, "input_cost_per_pixel", list, r -> r.inputCostPerPixel());
        o.put("mode", MODE);
        sum(o, "tpm", list.stream().map(d -> d.entry().params().tpm()).filter(java.util.OptionalLong::isPresent)
                .mapToLong(java.util.OptionalLong::getAsLong).toArray());
        sum(o, "rpm", list.stream().map(d -> d.entry().params().rpm()).filter(java.util.OptionalInt::isPresent)
                .mapToLong(java.util.OptionalInt::getAsInt).toArray());
        o.put("supports_parallel_function_calling", false);
        o.put("supports_vision", true);
        o.put("supports_function_calling", false);
        Set<String> params = new java.util.LinkedHashSet<>();
        list.forEach(d -> params.addAll(supportedParams(d.spec())));
        ArrayNode sp = o.putArray("supported_openai_params");
        params.forEach(sp::add);
        o.putNull("configurable_clientside_auth_params");
        o.put("deployments", list.size());
        o.put("available", list.stream().anyMatch(d -> d.status().available()));
        return o;
    }

    private static void max(ObjectNode o, String field, List<DeploymentInfo> list,
                            Function<CostCalculator.Rates, Optional<BigDecimal>> price) {
        list.stream().map(d -> price.apply(d.rates())).flatMap(Optional::stream).max(BigDecimal::compareTo)
                .ifPresentOrElse(v -> o.put(field, v), () -> o.putNull(field));
    }

    private static void sum(ObjectNode o, String field, long[] values) {
        if (values.length == 0) {
            o.putNull(field);
        } else {
            o.put(field, java.util.Arrays.stream(values).sum());
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static BigDecimal seconds(java.time.Duration d) {
        return BigDecimal.valueOf(d.toMillis()).movePointLeft(3).stripTrailingZeros();
    }

    private static ProxyException notFound(String param, String message) {
        return new ProxyException(404, "invalid_request_error", "not_found", param, message);
    }

    /** The body as 200 JSON; a refused query (unknown id or group) as OpenAI error JSON with its status. */
    private static void answer(Context ctx, java.util.function.Supplier<ObjectNode> body) {
        String text;
        try {
            text = JSON.writeValueAsString(body.get());
        } catch (ProxyException e) {
            var reply = ErrorResponses.of(e, ctx.res().getHeader("x-request-id"));
            ProxyServer.json(ctx, reply.status(), reply.body());
            return;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ProxyServer.json(ctx, 200, text);
    }
}
