package dev.easel.proxy.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.EaselException;
import dev.easel.proxy.spend.BudgetDuration;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LiteLLM's key, team and user management endpoints as Javalin handlers, over a {@link KeyStore}. The proxy
 * registers them behind admin auth:
 *
 * <pre>{@code
 * KeyApi api = new KeyApi(store, changes, spendLookup, bodies::readTree, actor, clock);
 * c.routes.post("/key/generate", api::generateKey);
 * c.routes.get("/key/info", api::keyInfo);
 * // … the full list in docs/keys.md
 * }</pre>
 *
 * Request and answer fields are LiteLLM's. A field LiteLLM accepts that Easel does not act on is accepted only when
 * absent, null, empty or its default; any other value is a 400 {@code unsupported_parameter} naming it. Unknown
 * fields, wrong types, negative limits and bad durations are 400s naming the field and the value. Keys are
 * {@code sk-} and 32 random bytes, stored only as their SHA-256 ({@code token}) and shown once, in the answer of
 * {@code /key/generate}, {@code /key/regenerate} and {@code /user/new}; nothing else (errors, logs, listings)
 * carries key material. Every write is published on {@link AuthChanges} so replicas drop what they cached.
 */
public final class KeyApi {

    private static final Logger LOG = LoggerFactory.getLogger(KeyApi.class);

    /** Fractions as exact decimals: bodies and answers carry money. */
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));
    private static final JsonNodeFactory NODES = JsonNodeFactory.withExactBigDecimals(true);

    /** LiteLLM's name for the master key as an actor ({@code litellm_proxy_admin_name}). */
    public static final String PROXY_ADMIN_NAME = "default_user_id";

    /** Key listings: LiteLLM's default and largest page. */
    static final int DEFAULT_KEY_PAGE = 10;
    static final int DEFAULT_USER_PAGE = 25;
    static final int MAX_PAGE = 100;
    /** A caller-supplied key shorter than this is refused: it would be guessable. */
    static final int MIN_KEY_LENGTH = 20;
    private static final int KEY_BYTES = 32;
    /** LiteLLM's model name meaning "whatever the key's team may use". */
    static final String ALL_TEAM_MODELS = "all-team-models";

    private final KeyStore store;
    private final AuthChanges changes;
    private final SpendLookup spend;
    private final Function<Context, JsonNode> body;
    private final Function<Context, String> actor;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    /**
     * Handlers over {@code store}. {@code body} reads and parses a request's JSON body within the caller's limits,
     * throwing an {@link EaselException} with the status to answer when it cannot; {@code actor} names the caller
     * for {@code created_by}/{@code updated_by} ({@link #PROXY_ADMIN_NAME} for the master key).
     */
    public KeyApi(KeyStore store, AuthChanges changes, SpendLookup spend, Function<Context, JsonNode> body,
                  Function<Context, String> actor, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.changes = Objects.requireNonNull(changes, "changes");
        this.spend = Objects.requireNonNull(spend, "spend");
        this.body = Objects.requireNonNull(body, "body");
        this.actor = Objects.requireNonNull(actor, "actor");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The time, to the microsecond the database keeps, so an answer shows what a later read will. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    /** SHA-256 hex of a key: its {@code token}, as LiteLLM stores it. */
    public static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** {@code sk-...} and the key's last 4 characters. */
    static String keyName(String key) {
        return "sk-..." + key.substring(key.length() - 4);
    }

    // ================================================================ fields

    /** Fields LiteLLM accepts on every key write that Easel does not act on. */
    private static final List<String> KEY_UNSUPPORTED = List.of("agent_id", "allowed_cache_controls", "config",
            "permissions", "model_max_budget", "model_rpm_limit", "model_tpm_limit", "guardrails", "policies",
            "prompts", "aliases", "object_permission", "budget_id", "enforced_params", "allowed_routes",
            "allowed_passthrough_routes", "allowed_vector_store_indexes", "rpm_limit_type", "tpm_limit_type",
            "router_settings", "access_group_ids", "organization_id", "project_id", "auto_rotate",
            "rotation_interval", "key_type", "send_invite_email");
    private static final List<String> TEAM_UNSUPPORTED = List.of("organization_id", "admins", "members",
            "team_member_permissions", "router_settings", "access_group_ids", "model_aliases", "tags", "guardrails",
            "policies", "prompts", "object_permission", "allowed_passthrough_routes", "secret_manager_settings",
            "model_rpm_limit", "model_tpm_limit", "rpm_limit_type", "tpm_limit_type", "team_member_budget",
            "team_member_rpm_limit", "team_member_tpm_limit", "team_member_key_duration",
            "team_member_budget_duration", "allowed_vector_store_indexes", "enforced_batch_output_expires_after",
            "enforced_file_expires_after");
    private static final List<String> USER_UNSUPPORTED = List.of("user_alias", "agent_id", "allowed_cache_controls",
            "config", "permissions", "model_max_budget", "model_rpm_limit", "model_tpm_limit", "guardrails",
            "policies", "prompts", "aliases", "object_permission", "blocked", "send_invite_email", "sso_user_id",
            "organizations", "password", "spend");

    /**
     * A JSON body's fields, checked as they are read: {@link #finish} refuses any field not read and not declared
     * unsupported-at-default.
     */
    static final class Fields {
        private final ObjectNode node;
        private final Set<String> known = new LinkedHashSet<>();

        Fields(JsonNode node) {
            if (node == null || !node.isObject()) {
                throw new ApiError(400, "invalid_json", null, "request body must be a JSON object");
            }
            this.node = (ObjectNode) node;
        }

        static Fields empty() {
            return new Fields(NODES.objectNode());
        }

        boolean has(String name) {
            known.add(name);
            JsonNode v = node.get(name);
            return v != null && !v.isNull();
        }

        /** Refuses {@code name} unless it is absent, null, empty, false, zero, or {@code dflt}. */
        void unsupported(String name, String dflt) {
            known.add(name);
            JsonNode v = node.get(name);
            if (v == null || v.isNull() || v.isContainerNode() && v.isEmpty() || v.isBoolean() && !v.booleanValue()
                    || v.isNumber() && v.decimalValue().signum() == 0 || v.isTextual() && v.asText().isEmpty()
                    || dflt != null && v.isTextual() && v.asText().equals(dflt)) {
                return;
            }
            throw new ApiError(400, "unsupported_parameter", name, name + ": Easel does not support this field "
                    + "(was " + shortText(v) + "); leave it out or null");
        }

        void unsupported(List<String> names) {
            for (String n : names) {
                unsupported(n, "key_type".equals(n) ? "default" : null);
            }
        }

        /** Fields LiteLLM's request for this endpoint does not have at all. */
        void finish() {
            List<String> unknown = new ArrayList<>();
            node.fieldNames().forEachRemaining(f -> {
                if (!known.contains(f)) {
                    unknown.add(f);
                }
            });
            if (!unknown.isEmpty()) {
                throw new ApiError(400, "unknown_parameter", unknown.get(0), "unknown field" + (unknown.size() > 1
                        ? "s " : " ") + String.join(", ", unknown.stream().map(u -> "'" + u + "'").toList()));
            }
        }

        Optional<String> text(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isTextual()) {
                throw invalid(name, "expected a string", v);
            }
            String s = v.asText().strip();
            if (s.isEmpty()) {
                throw invalid(name, "must not be empty", v);
            }
            return Optional.of(s);
        }

        String required(String name) {
            return text(name).orElseThrow(() -> new ApiError(400, "missing_parameter", name,
                    "missing field " + name));
        }

        Optional<BigDecimal> money(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isNumber()) {
                throw invalid(name, "expected a number", v);
            }
            BigDecimal d = v.decimalValue();
            if (d.signum() < 0) {
                throw invalid(name, "must not be negative", v);
            }
            return Optional.of(d);
        }

        OptionalLong whole(String name, long max) {
            if (!has(name)) {
                return OptionalLong.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isIntegralNumber() && !(v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0)) {
                throw invalid(name, "expected a whole number", v);
            }
            BigDecimal d = v.decimalValue();
            if (d.signum() < 0) {
                throw invalid(name, "must not be negative", v);
            }
            if (d.compareTo(BigDecimal.valueOf(max)) > 0) {
                throw invalid(name, "must be at most " + max, v);
            }
            return OptionalLong.of(d.longValueExact());
        }

        OptionalInt integer(String name) {
            OptionalLong l = whole(name, Integer.MAX_VALUE);
            return l.isPresent() ? OptionalInt.of((int) l.getAsLong()) : OptionalInt.empty();
        }

        Optional<Boolean> bool(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isBoolean()) {
                throw invalid(name, "expected true or false", v);
            }
            return Optional.of(v.booleanValue());
        }

        Optional<List<String>> strings(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isArray()) {
                throw invalid(name, "expected a list of strings", v);
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                JsonNode e = v.get(i);
                if (!e.isTextual() || e.asText().isBlank()) {
                    throw invalid(name + "[" + i + "]", "expected a non-empty string", e);
                }
                out.add(e.asText().strip());
            }
            return Optional.of(List.copyOf(new LinkedHashSet<>(out)));
        }

        Optional<Map<String, Object>> object(String name) {
            if (!has(name)) {
                return Optional.empty();
            }
            JsonNode v = node.get(name);
            if (!v.isObject()) {
                throw invalid(name, "expected a JSON object", v);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            v.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    throw invalid(name + "." + e.getKey(), "null values are not stored; leave the entry out",
                            e.getValue());
                }
                out.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class));
            });
            return Optional.of(out);
        }

        /** A duration ({@code 30d}, {@code 1h}, {@code 1mo}…). */
        Optional<BudgetDuration> duration(String name) {
            Optional<String> t = text(name);
            if (t.isEmpty()) {
                return Optional.empty();
            }
            BudgetDuration d = BudgetDuration.parse(t.get());
            if (d == null) {
                throw invalid(name, "expected a duration like 30s, 30m, 24h, 30d, 1w or 1mo", node.get(name));
            }
            return Optional.of(d);
        }

        JsonNode raw(String name) {
            known.add(name);
            return node.get(name);
        }
    }

    static ApiError invalid(String name, String what, JsonNode value) {
        return new ApiError(400, "invalid_parameter", name, name + ": " + what + " (was " + shortText(value) + ")");
    }

    private static String shortText(JsonNode v) {
        String s = v == null ? "null" : v.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /** An answer other than 200, with OpenAI error JSON. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;
        final String param;

        ApiError(int status, String code, String param, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
            this.param = param;
        }
    }

    private static ApiError notFound(String what, String param, String message) {
        return new ApiError(404, what + "_not_found", param, message);
    }

    // ================================================================ keys

    /** {@code POST /key/generate}: a new key; the answer holds the key, shown this once. */
    public void generateKey(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            Instant now = now();
            Optional<String> supplied = f.text("key");
            String key = supplied.map(k -> checkKey("key", k)).orElseGet(this::newKey);
            f.money("spend").filter(s -> s.signum() != 0).ifPresent(s -> {
                throw new ApiError(400, "unsupported_parameter", "spend", "spend: Easel computes spend from the "
                        + "spend log; it cannot be set (was " + s.toPlainString() + ")");
            });
            KeyEdit edit = KeyEdit.read(f);
            f.unsupported(KEY_UNSUPPORTED);
            f.finish();
            String who = actor.apply(ctx);
            VirtualKey k = edit.apply(new VirtualKey(hash(key), keyName(key), Optional.empty(), Optional.empty(),
                    Optional.empty(), List.of(), KeyLimits.none(now), Map.of(), List.of(), false, Optional.empty(),
                    now, now, Optional.of(who), Optional.of(who)), now);
            checkTeam(k);
            try {
                store.insertKey(k);
            } catch (KeyStore.Conflict e) {
                throw conflict(e);
            }
            boolean userCreated = ensureUser(k.userId(), now); // after the key: a refused key creates no user
            changes.publish("key:" + k.token());
            if (userCreated) {
                changes.publish("user:" + k.userId().orElseThrow());
            }
            ObjectNode out = keyJson(k, now);
            out.put("key", key);
            out.put("duration", edit.durationText.orElse(null));
            out.put("token_id", k.token());
            return out;
        });
    }

    /** {@code GET /key/info?key=}: {@code {"key": <token>, "info": {…}}}; {@code key} may be the key or its hash. */
    public void keyInfo(Context ctx) {
        keyInfo(ctx, Optional.empty());
    }

    /**
     * {@code GET /key/info} called with a virtual key that is not an admin's: that key's own info (LiteLLM lets a key
     * read itself), {@code ?key=} absent or naming that same key; another key is 401 {@code not_admin}.
     */
    public void ownKeyInfo(Context ctx, String ownToken) {
        keyInfo(ctx, Optional.of(ownToken));
    }

    private void keyInfo(Context ctx, Optional<String> own) {
        handle(ctx, () -> {
            String asked = ctx.queryParam("key");
            String token = own.isPresent() && (asked == null || asked.isBlank()) ? own.get()
                    : tokenOf(queryRequired(ctx, "key"));
            if (own.isPresent() && !own.get().equals(token)) {
                throw new ApiError(401, "not_admin", "key", "a key may read only its own /key/info; another key's "
                        + "needs the master key or a proxy_admin's key");
            }
            VirtualKey k = store.key(token).orElseThrow(() -> keyNotFound(token));
            ObjectNode out = NODES.objectNode();
            out.put("key", k.token());
            out.set("info", keyJson(k, now()));
            return out;
        });
    }

    /**
     * {@code GET /key/list}: {@code {"keys", "total_count", "current_page", "total_pages"}}; {@code keys} holds the
     * tokens, or the whole objects with {@code return_full_object=true}. Filters {@code user_id}, {@code team_id},
     * {@code key_alias}; paging {@code page} (from 1) and {@code size} (1 to 100, default 10).
     */
    public void listKeys(Context ctx) {
        handle(ctx, () -> {
            checkQuery(ctx, Set.of("page", "size", "user_id", "team_id", "key_alias", "return_full_object"),
                    Set.of("key_hash", "organization_id", "project_id", "sort_by", "sort_order",
                            "include_team_keys", "include_created_by_keys", "expand", "status"));
            int page = (int) queryNumber(ctx, "page", 1, Integer.MAX_VALUE / MAX_PAGE).orElse(1L).longValue();
            int size = (int) queryNumber(ctx, "size", 1, MAX_PAGE).orElse((long) DEFAULT_KEY_PAGE).longValue();
            boolean full = queryBool(ctx, "return_full_object");
            KeyStore.Page<VirtualKey> p = store.keys(new KeyStore.KeyQuery(query(ctx, "user_id"),
                    query(ctx, "team_id"), query(ctx, "key_alias"), page, size));
            Instant now = now();
            ObjectNode out = NODES.objectNode();
            ArrayNode keys = out.putArray("keys");
            for (VirtualKey k : p.items()) {
                if (full) {
                    keys.add(keyJson(k, now));
                } else {
                    keys.add(k.token());
                }
            }
            out.put("total_count", p.totalCount());
            out.put("current_page", page);
            out.put("total_pages", (p.totalCount() + size - 1) / size);
            return out;
        });
    }

    /** {@code POST /key/update}: changes the fields given (null or absent: unchanged); answers the key's info. */
    public void updateKey(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String token = tokenOf(f.required("key"));
            f.unsupported("spend", null);
            f.unsupported("temp_budget_increase", null);
            f.unsupported("temp_budget_expiry", null);
            KeyEdit edit = KeyEdit.read(f);
            f.unsupported(KEY_UNSUPPORTED);
            f.finish();
            VirtualKey old = store.key(token).orElseThrow(() -> keyNotFound(token));
            Instant now = now();
            VirtualKey k = edit.apply(old, now);
            k = touched(k, now, actor.apply(ctx));
            checkTeam(k);
            try {
                if (!store.updateKey(k)) {
                    throw keyNotFound(token);
                }
            } catch (KeyStore.Conflict e) {
                throw conflict(e);
            }
            boolean userCreated = ensureUser(k.userId(), now);
            changes.publish("key:" + token);
            if (userCreated) {
                changes.publish("user:" + k.userId().orElseThrow());
            }
            ObjectNode out = keyJson(k, now);
            out.put("key", k.token());
            return out;
        });
    }

    /** {@code POST /key/delete}: {@code keys} (keys or hashes) or {@code key_aliases}; all must exist. */
    public void deleteKeys(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            List<String> keys = f.strings("keys").orElse(List.of());
            List<String> aliases = f.strings("key_aliases").orElse(List.of());
            f.finish();
            if (keys.isEmpty() && aliases.isEmpty()) {
                throw new ApiError(400, "missing_parameter", "keys", "give at least one of keys or key_aliases");
            }
            LinkedHashSet<String> tokens = new LinkedHashSet<>();
            for (String k : keys) {
                String t = tokenOf(k);
                store.key(t).orElseThrow(() -> keyNotFound(t));
                tokens.add(t);
            }
            for (String a : aliases) {
                VirtualKey k = store.keyByAlias(a).orElseThrow(() -> notFound("key", "key_aliases",
                        "no key with key_alias '" + a + "'"));
                tokens.add(k.token());
            }
            List<String> deleted = store.deleteKeys(tokens);
            deleted.forEach(t -> changes.publish("key:" + t));
            ObjectNode out = NODES.objectNode();
            ArrayNode arr = out.putArray("deleted_keys");
            deleted.forEach(arr::add);
            return out;
        });
    }

    /** {@code POST /key/block} {@code {"key"}}: the key is refused until unblocked; answers its info. */
    public void blockKey(Context ctx) {
        block(ctx, true);
    }

    /** {@code POST /key/unblock} {@code {"key"}}. */
    public void unblockKey(Context ctx) {
        block(ctx, false);
    }

    private void block(Context ctx, boolean blocked) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String token = tokenOf(f.required("key"));
            f.finish();
            VirtualKey old = store.key(token).orElseThrow(() -> keyNotFound(token));
            Instant now = now();
            VirtualKey k = touched(withBlocked(old, blocked), now, actor.apply(ctx));
            if (!store.updateKey(k)) {
                throw keyNotFound(token);
            }
            changes.publish("key:" + token);
            return keyJson(k, now);
        });
    }

    /**
     * {@code POST /key/regenerate} ({@code key} in the body) and {@code POST /key/{key}/regenerate}: a new key in
     * place of the old one, which stops working at once; the body may also change fields as {@code /key/update}
     * does, and give {@code new_key}. Answers like {@code /key/generate}.
     */
    public void regenerateKey(Context ctx) {
        handle(ctx, () -> {
            String path = ctx.pathParamMap().get("key");
            Fields f = new Fields(readBody(ctx, path != null));
            Optional<String> inBody = f.text("key");
            if (path != null && inBody.isPresent() && !tokenOf(inBody.get()).equals(tokenOf(path))) {
                throw new ApiError(400, "invalid_parameter", "key", "key: the body names another key than the path");
            }
            String token = tokenOf(path != null ? path : inBody.orElseThrow(() -> new ApiError(400,
                    "missing_parameter", "key", "missing field key")));
            String key = f.text("new_key").map(k -> checkKey("new_key", k)).orElseGet(this::newKey);
            f.unsupported("new_master_key", null);
            f.unsupported("grace_period", null);
            f.unsupported("spend", null);
            KeyEdit edit = KeyEdit.read(f);
            f.unsupported(KEY_UNSUPPORTED);
            f.finish();
            VirtualKey old = store.key(token).orElseThrow(() -> keyNotFound(token));
            Instant now = now();
            VirtualKey e = edit.apply(old, now);
            VirtualKey fresh = new VirtualKey(hash(key), keyName(key), e.keyAlias(), e.userId(), e.teamId(),
                    e.models(), e.limits(), e.metadata(), e.tags(), e.blocked(), e.expires(), e.createdAt(), now,
                    e.createdBy(), Optional.of(actor.apply(ctx)), old.keyId());
            checkTeam(fresh);
            try {
                if (!store.replaceKey(token, fresh)) {
                    throw keyNotFound(token);
                }
            } catch (KeyStore.Conflict c) {
                throw conflict(c);
            }
            boolean userCreated = ensureUser(fresh.userId(), now);
            changes.publish("key:" + token);
            if (userCreated) {
                changes.publish("user:" + fresh.userId().orElseThrow());
            }
            ObjectNode out = keyJson(fresh, now);
            out.put("key", key);
            out.put("duration", edit.durationText.orElse(null));
            out.put("token_id", fresh.token());
            return out;
        });
    }

    /**
     * What a key write asks to change; empty: unchanged. {@code expiry}: present and empty for {@code -1} (never
     * expires, LiteLLM's value), else the duration from now.
     */
    private record KeyEdit(Optional<String> alias, Optional<String> durationText,
                           Optional<Optional<BudgetDuration>> expiry, Optional<List<String>> models,
                           Optional<BigDecimal> maxBudget, Optional<BigDecimal> softBudget, Optional<String> userId,
                           Optional<String> teamId, OptionalInt parallel, Optional<Map<String, Object>> metadata,
                           OptionalLong tpm, OptionalInt rpm, Optional<BudgetDuration> budgetDuration,
                           Optional<Boolean> blocked, Optional<List<String>> tags) {

        static KeyEdit read(Fields f) {
            Optional<String> durationText = f.text("duration");
            Optional<Optional<BudgetDuration>> expiry = Optional.empty();
            if (durationText.isPresent()) {
                BudgetDuration d = BudgetDuration.parse(durationText.get());
                if (d == null && !durationText.get().equals("-1")) {
                    throw invalid("duration", "expected a duration like 30s, 30m, 24h, 30d, 1w or 1mo, or -1 for "
                            + "no expiry", f.raw("duration"));
                }
                expiry = Optional.of(Optional.ofNullable(d));
            }
            return new KeyEdit(f.text("key_alias"), durationText, expiry, f.strings("models"), f.money("max_budget"),
                    f.money("soft_budget"), f.text("user_id"), f.text("team_id"), f.integer("max_parallel_requests"),
                    f.object("metadata"), f.whole("tpm_limit", Long.MAX_VALUE), f.integer("rpm_limit"),
                    f.duration("budget_duration"), f.bool("blocked"), f.strings("tags"));
        }

        VirtualKey apply(VirtualKey k, Instant now) {
            KeyLimits l = k.limits();
            // a new budget or window starts its first window now
            boolean budgetChanged = maxBudget.isPresent() && !maxBudget.equals(l.maxBudget())
                    || budgetDuration.isPresent() && !budgetDuration.equals(l.budgetDuration());
            KeyLimits limits = new KeyLimits(maxBudget.or(l::maxBudget), softBudget.or(l::softBudget),
                    budgetDuration.or(l::budgetDuration), budgetChanged ? now : l.budgetAnchor(),
                    rpm.isPresent() ? rpm : l.rpmLimit(), tpm.isPresent() ? tpm : l.tpmLimit(),
                    parallel.isPresent() ? parallel : l.maxParallelRequests());
            Optional<Instant> exp = expiry.isPresent() ? expiry.get().map(d -> d.windowEnd(now)) : k.expires();
            return new VirtualKey(k.token(), k.keyName(), alias.or(k::keyAlias), userId.or(k::userId),
                    teamId.or(k::teamId), models.orElse(k.models()), limits, metadata.orElse(k.metadata()),
                    tags.orElse(k.tags()), blocked.orElse(k.blocked()), exp, k.createdAt(), k.updatedAt(),
                    k.createdBy(), k.updatedBy(), k.keyId());
        }
    }

    /**
     * {@code path} with every segment that looks like a key ({@code sk-…}) replaced by {@code {key}}: what logs and
     * errors may show of {@code /key/{key}/regenerate}.
     */
    public static String maskedPath(String path) {
        if (path == null || !path.contains("sk-")) {
            return path;
        }
        return java.util.Arrays.stream(path.split("/", -1)).map(seg -> seg.startsWith("sk-") ? "{key}" : seg)
                .collect(java.util.stream.Collectors.joining("/"));
    }

    private static VirtualKey touched(VirtualKey k, Instant now, String who) {
        return new VirtualKey(k.token(), k.keyName(), k.keyAlias(), k.userId(), k.teamId(), k.models(), k.limits(),
                k.metadata(), k.tags(), k.blocked(), k.expires(), k.createdAt(), now, k.createdBy(),
                Optional.of(who), k.keyId());
    }

    private static VirtualKey withBlocked(VirtualKey k, boolean blocked) {
        return new VirtualKey(k.token(), k.keyName(), k.keyAlias(), k.userId(), k.teamId(), k.models(), k.limits(),
                k.metadata(), k.tags(), blocked, k.expires(), k.createdAt(), k.updatedAt(), k.createdBy(),
                k.updatedBy(), k.keyId());
    }

    /** A key's team must exist, and a team that restricts models restricts its keys' lists. */
    private void checkTeam(VirtualKey k) throws SQLException {
        if (k.teamId().isEmpty()) {
            return;
        }
        String id = k.teamId().get();
        Team t = store.team(id).orElseThrow(() -> new ApiError(400, "invalid_parameter", "team_id",
                "team_id: no team '" + id + "'; create it with /team/new first"));
        if (t.models().isEmpty()) {
            return;
        }
        for (String m : k.models()) {
            if (!m.equals(ALL_TEAM_MODELS) && !t.models().contains(m)) {
                throw new ApiError(400, "invalid_parameter", "models", "models: '" + m + "' is not among team '"
                        + id + "''s models " + t.models());
            }
        }
    }

    /** Creates a user named by a key that does not exist yet (as LiteLLM does); true when it created one. */
    private boolean ensureUser(Optional<String> userId, Instant now) throws SQLException {
        if (userId.isEmpty() || store.user(userId.get()).isPresent()) {
            return false;
        }
        try {
            store.insertUser(new User(userId.get(), Optional.empty(), "internal_user", List.of(),
                    KeyLimits.none(now), Map.of(), now, now));
            return true;
        } catch (KeyStore.Conflict e) {
            return false; // created meanwhile by another request: what was wanted
        }
    }

    private String newKey() {
        byte[] b = new byte[KEY_BYTES];
        random.nextBytes(b);
        return "sk-" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** A caller-supplied key: {@code sk-} and long enough. The message never repeats it. */
    private static String checkKey(String field, String key) {
        if (!key.startsWith("sk-")) {
            throw new ApiError(400, "invalid_parameter", field, field + ": a key must start with 'sk-'");
        }
        if (key.length() < MIN_KEY_LENGTH) {
            throw new ApiError(400, "invalid_parameter", field, field + ": a key must be at least " + MIN_KEY_LENGTH
                    + " characters long (was " + key.length() + ")");
        }
        if (!key.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
            throw new ApiError(400, "invalid_parameter", field, field + ": a key must be printable ASCII without "
                    + "spaces");
        }
        return key;
    }

    /** A key as callers name it: the key itself ({@code sk-…}, hashed here) or its token. */
    static String tokenOf(String keyOrToken) {
        return keyOrToken.startsWith("sk-") ? hash(keyOrToken) : keyOrToken;
    }

    private static ApiError keyNotFound(String token) {
        return notFound("key", "key", "no key with token " + token);
    }

    private static ApiError conflict(KeyStore.Conflict e) {
        return new ApiError(409, "conflict", e.getMessage().startsWith("key_alias") ? "key_alias" : null,
                e.getMessage());
    }

    // ================================================================ teams

    /** {@code POST /team/new}: answers the team (LiteLLM's {@code LiteLLM_TeamTable}). */
    public void newTeam(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.text("team_id").orElseGet(() -> UUID.randomUUID().toString());
            Instant now = now();
            TeamEdit edit = TeamEdit.read(f);
            List<TeamMember> members = members(f.raw("members_with_roles"), "members_with_roles");
            f.unsupported(TEAM_UNSUPPORTED);
            f.finish();
            Team t = edit.apply(new Team(id, Optional.empty(), List.of(), KeyLimits.none(now), members, Map.of(),
                    false, now, now), now);
            List<String> created = ensureUsers(members, now);
            try {
                store.insertTeam(t);
            } catch (KeyStore.Conflict e) {
                throw new ApiError(409, "conflict", "team_id", e.getMessage());
            }
            changes.publish("team:" + id);
            created.forEach(u -> changes.publish("user:" + u));
            return teamJson(t, now);
        });
    }

    /** {@code GET /team/info?team_id=}: {@code {"team_id", "team_info", "keys"}}. */
    public void teamInfo(Context ctx) {
        handle(ctx, () -> {
            String id = queryRequired(ctx, "team_id");
            Team t = store.team(id).orElseThrow(() -> teamNotFound(id));
            Instant now = now();
            ObjectNode out = NODES.objectNode();
            out.put("team_id", id);
            out.set("team_info", teamJson(t, now));
            ArrayNode keys = out.putArray("keys");
            for (VirtualKey k : allKeys(Optional.empty(), Optional.of(id))) {
                keys.add(keyJson(k, now));
            }
            return out;
        });
    }

    /** {@code GET /team/list} (optionally {@code ?user_id=}: the teams that user is a member of): a JSON array. */
    public void listTeams(Context ctx) {
        handle(ctx, () -> {
            checkQuery(ctx, Set.of("user_id"), Set.of("organization_id"));
            Optional<String> user = query(ctx, "user_id");
            Instant now = now();
            ArrayNode out = NODES.arrayNode();
            for (Team t : allTeams(user)) {
                out.add(teamJson(t, now));
            }
            return out;
        });
    }

    /** {@code POST /team/update}: changes the fields given; answers {@code {"team_id", "data": team}}. */
    public void updateTeam(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.required("team_id");
            TeamEdit edit = TeamEdit.read(f);
            f.unsupported(TEAM_UNSUPPORTED);
            f.finish();
            Team old = store.team(id).orElseThrow(() -> teamNotFound(id));
            Instant now = now();
            Team t = edit.apply(old, now);
            t = new Team(t.teamId(), t.teamAlias(), t.models(), t.limits(), t.members(), t.metadata(), t.blocked(),
                    t.createdAt(), now);
            if (!store.updateTeam(t)) {
                throw teamNotFound(id);
            }
            changes.publish("team:" + id);
            ObjectNode out = NODES.objectNode();
            out.put("team_id", id);
            out.set("data", teamJson(t, now));
            return out;
        });
    }

    /** {@code POST /team/delete} {@code {"team_ids"}}: the teams and all their keys; all must exist. */
    public void deleteTeams(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            List<String> ids = f.strings("team_ids").filter(l -> !l.isEmpty()).orElseThrow(() -> new ApiError(400,
                    "missing_parameter", "team_ids", "missing field team_ids (a non-empty list)"));
            f.finish();
            List<String> tokens = new ArrayList<>();
            for (String id : ids) {
                store.team(id).orElseThrow(() -> teamNotFound(id));
                allKeys(Optional.empty(), Optional.of(id)).forEach(k -> tokens.add(k.token()));
            }
            List<String> deleted = store.deleteTeams(ids);
            deleted.forEach(id -> changes.publish("team:" + id));
            // a key generated for the team meanwhile is deleted too, unpublished: the version poll covers it
            tokens.forEach(t -> changes.publish("key:" + t));
            ObjectNode out = NODES.objectNode();
            ArrayNode arr = out.putArray("deleted_teams");
            deleted.forEach(arr::add);
            return out;
        });
    }

    /**
     * {@code POST /team/member_add} {@code {"team_id", "member": {…} | [{…}]}}: users not yet known are created.
     * Answers the team plus {@code updated_users}.
     */
    public void addTeamMember(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.required("team_id");
            JsonNode raw = f.raw("member");
            if (raw == null || raw.isNull()) {
                throw new ApiError(400, "missing_parameter", "member", "missing field member");
            }
            List<TeamMember> members = members(raw.isArray() ? raw : NODES.arrayNode().add(raw), "member");
            if (members.isEmpty()) {
                throw new ApiError(400, "missing_parameter", "member", "member: give at least one member");
            }
            f.unsupported("max_budget_in_team", null);
            f.finish();
            store.team(id).orElseThrow(() -> teamNotFound(id));
            Instant now = now();
            List<String> created = ensureUsers(members, now);
            Team t;
            try {
                t = store.addMembers(id, members).orElseThrow(() -> teamNotFound(id));
            } catch (KeyStore.Conflict e) {
                throw new ApiError(409, "conflict", "member", e.getMessage());
            }
            changes.publish("team:" + id);
            created.forEach(u -> changes.publish("user:" + u));
            ObjectNode out = teamJson(t, now);
            ArrayNode users = out.putArray("updated_users");
            for (TeamMember m : members) {
                Optional<User> u = store.user(m.userId());
                if (u.isPresent()) {
                    users.add(userJson(u.get(), now));
                }
            }
            return out;
        });
    }

    /** {@code POST /team/member_delete} {@code {"team_id", "user_id"}}: answers the team. */
    public void deleteTeamMember(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.required("team_id");
            Optional<String> user = f.text("user_id");
            Optional<String> email = f.text("user_email");
            f.finish();
            Team old = store.team(id).orElseThrow(() -> teamNotFound(id));
            List<String> remove = new ArrayList<>();
            for (TeamMember m : old.members()) {
                if (user.isPresent() ? m.userId().equals(user.get())
                        : email.isPresent() && m.userEmail().equals(email)) {
                    remove.add(m.userId());
                }
            }
            if (user.isEmpty() && email.isEmpty()) {
                throw new ApiError(400, "missing_parameter", "user_id", "give user_id or user_email");
            }
            if (remove.isEmpty()) {
                throw notFound("member", user.isPresent() ? "user_id" : "user_email", "'"
                        + user.orElseGet(email::get) + "' is not a member of team '" + id + "'");
            }
            Team t = store.removeMembers(id, remove).orElseThrow(() -> teamNotFound(id));
            changes.publish("team:" + id);
            remove.forEach(u -> changes.publish("user:" + u));
            return teamJson(t, now());
        });
    }

    /** What a team write asks to change. */
    private record TeamEdit(Optional<String> alias, Optional<Map<String, Object>> metadata, OptionalLong tpm,
                            OptionalInt rpm, Optional<BigDecimal> maxBudget, Optional<BigDecimal> softBudget,
                            Optional<BudgetDuration> budgetDuration, Optional<List<String>> models,
                            Optional<Boolean> blocked, OptionalInt parallel) {

        static TeamEdit read(Fields f) {
            return new TeamEdit(f.text("team_alias"), f.object("metadata"), f.whole("tpm_limit", Long.MAX_VALUE),
                    f.integer("rpm_limit"), f.money("max_budget"), f.money("soft_budget"),
                    f.duration("budget_duration"), f.strings("models"), f.bool("blocked"),
                    f.integer("max_parallel_requests"));
        }

        Team apply(Team t, Instant now) {
            KeyLimits l = t.limits();
            boolean budgetChanged = maxBudget.isPresent() && !maxBudget.equals(l.maxBudget())
                    || budgetDuration.isPresent() && !budgetDuration.equals(l.budgetDuration());
            KeyLimits limits = new KeyLimits(maxBudget.or(l::maxBudget), softBudget.or(l::softBudget),
                    budgetDuration.or(l::budgetDuration), budgetChanged ? now : l.budgetAnchor(),
                    rpm.isPresent() ? rpm : l.rpmLimit(), tpm.isPresent() ? tpm : l.tpmLimit(),
                    parallel.isPresent() ? parallel : l.maxParallelRequests());
            return new Team(t.teamId(), alias.or(t::teamAlias), models.orElse(t.models()), limits, t.members(),
                    metadata.orElse(t.metadata()), blocked.orElse(t.blocked()), t.createdAt(), t.updatedAt());
        }
    }

    /** {@code members_with_roles} / {@code member} entries: {@code {"user_id", "user_email"?, "role"}}. */
    private static List<TeamMember> members(JsonNode raw, String field) {
        if (raw == null || raw.isNull()) {
            return List.of();
        }
        if (!raw.isArray()) {
            throw invalid(field, "expected a list of members", raw);
        }
        List<TeamMember> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < raw.size(); i++) {
            String at = field + "[" + i + "]";
            Fields m;
            try {
                m = new Fields(raw.get(i));
            } catch (ApiError e) {
                throw invalid(at, "expected an object {\"user_id\", \"role\"}", raw.get(i));
            }
            Optional<String> user = prefixed(at, () -> m.text("user_id"));
            Optional<String> email = prefixed(at, () -> m.text("user_email"));
            String role = prefixed(at, () -> m.text("role")).orElse("user");
            prefixed(at, () -> {
                m.finish();
                return null;
            });
            if (user.isEmpty()) {
                throw new ApiError(400, "missing_parameter", at + ".user_id", at + ".user_id: required (Easel "
                        + "identifies members by user_id" + email.map(e -> "; user_email alone is not enough")
                        .orElse("") + ")");
            }
            if (!role.equals("admin") && !role.equals("user")) {
                throw new ApiError(400, "invalid_parameter", at + ".role", at + ".role: expected admin or user (was '"
                        + role + "')");
            }
            if (!seen.add(user.get())) {
                throw new ApiError(400, "invalid_parameter", at + ".user_id", at + ".user_id: '" + user.get()
                        + "' is listed twice");
            }
            out.add(new TeamMember(user.get(), email, role));
        }
        return out;
    }

    private interface Read<T> {
        T get();
    }

    /** Runs {@code r}, naming a refused field as {@code at.field}. */
    private static <T> T prefixed(String at, Read<T> r) {
        try {
            return r.get();
        } catch (ApiError e) {
            String param = e.param == null ? at : at + "." + e.param;
            String message = e.param != null && e.getMessage().startsWith(e.param + ":")
                    ? at + "." + e.getMessage() : at + ": " + e.getMessage();
            return sneaky(new ApiError(e.status, e.code, param, message));
        }
    }

    private static <T> T sneaky(ApiError e) {
        throw e;
    }

    /** Creates the members' users not yet known; returns the ids it created. */
    private List<String> ensureUsers(List<TeamMember> members, Instant now) throws SQLException {
        List<String> created = new ArrayList<>();
        for (TeamMember m : members) {
            if (store.user(m.userId()).isEmpty()) {
                try {
                    store.insertUser(new User(m.userId(), m.userEmail(), "internal_user", List.of(),
                            KeyLimits.none(now), Map.of(), now, now));
                    created.add(m.userId());
                } catch (KeyStore.Conflict e) {
                    // created meanwhile
                }
            }
        }
        return created;
    }

    private static ApiError teamNotFound(String id) {
        return notFound("team", "team_id", "no team '" + id + "'");
    }

    // ================================================================ users

    /**
     * {@code POST /user/new}: a user and, unless {@code auto_create_key} is false, a key for it (as LiteLLM does);
     * answers LiteLLM's {@code NewUserResponse}: the user's fields and the key's, {@code key} shown this once.
     */
    public void newUser(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.text("user_id").orElseGet(() -> UUID.randomUUID().toString());
            Instant now = now();
            UserEdit edit = UserEdit.read(f);
            String role = edit.role.orElse("internal_user");
            // for the key made with the user
            Optional<String> alias = f.text("key_alias");
            Optional<BudgetDuration> duration = f.duration("duration");
            Optional<String> keyTeam = f.text("team_id");
            boolean autoKey = f.bool("auto_create_key").orElse(true);
            List<TeamRef> teams = teams(f.raw("teams"));
            f.unsupported(USER_UNSUPPORTED);
            f.finish();
            if (!autoKey && (alias.isPresent() || duration.isPresent() || keyTeam.isPresent())) {
                throw new ApiError(400, "invalid_parameter", alias.isPresent() ? "key_alias" : duration.isPresent()
                        ? "duration" : "team_id", "key_alias, duration and team_id describe the key made with the "
                        + "user; with auto_create_key false there is none");
            }
            for (TeamRef t : teams) {
                store.team(t.teamId).orElseThrow(() -> new ApiError(400, "invalid_parameter", "teams",
                        "teams: no team '" + t.teamId + "'"));
            }
            User u = edit.apply(new User(id, Optional.empty(), role, List.of(), KeyLimits.none(now), Map.of(), now,
                    now), now);
            String who = actor.apply(ctx);
            String key = null;
            VirtualKey k = null;
            if (autoKey) {
                key = newKey();
                k = new VirtualKey(hash(key), keyName(key), alias, Optional.of(id), keyTeam, List.of(),
                        KeyLimits.none(now), Map.of(), List.of(), false, duration.map(d -> d.windowEnd(now)), now,
                        now, Optional.of(who), Optional.of(who));
                checkTeam(k);
                if (alias.isPresent() && store.keyByAlias(alias.get()).isPresent()) {
                    throw new ApiError(409, "conflict", "key_alias", "key_alias '" + alias.get()
                            + "' is taken by another key");
                }
            }
            try {
                store.insertUser(u);
            } catch (KeyStore.Conflict e) {
                throw new ApiError(409, "conflict", "user_id", e.getMessage());
            }
            changes.publish("user:" + id);
            for (TeamRef t : teams) {
                try {
                    store.addMembers(t.teamId, List.of(new TeamMember(id, u.userEmail(), t.role)));
                } catch (KeyStore.Conflict e) {
                    // a member already (a user of this id was deleted and is back): what was wanted
                }
                changes.publish("team:" + t.teamId);
            }
            if (k != null) {
                try {
                    store.insertKey(k);
                } catch (KeyStore.Conflict e) {
                    // the alias was taken after the check: the user stands, without the key
                    throw new ApiError(409, "conflict", "key_alias", e.getMessage() + " (user '" + id
                            + "' was created, without a key)");
                }
                changes.publish("key:" + k.token());
            }
            ObjectNode out = k != null ? keyJson(k, now) : NODES.objectNode();
            out.setAll(userJson(u, now, teams.stream().map(TeamRef::teamId).toList()));
            out.put("key", key);
            out.put("token", k == null ? null : k.token());
            out.put("key_alias", alias.orElse(null));
            out.put("duration", duration.map(BudgetDuration::text).orElse(null));
            out.put("team_id", keyTeam.orElse(null));
            out.put("expires", k == null ? null : k.expires().map(Instant::toString).orElse(null));
            return out;
        });
    }

    /** {@code GET /user/info?user_id=}: {@code {"user_id", "user_info", "keys", "teams"}}. */
    public void userInfo(Context ctx) {
        handle(ctx, () -> {
            String id = queryRequired(ctx, "user_id");
            User u = store.user(id).orElseThrow(() -> userNotFound(id));
            Instant now = now();
            List<Team> teams = allTeams(Optional.of(id));
            ObjectNode out = NODES.objectNode();
            out.put("user_id", id);
            out.set("user_info", userJson(u, now, teams.stream().map(Team::teamId).toList()));
            ArrayNode keys = out.putArray("keys");
            for (VirtualKey k : allKeys(Optional.of(id), Optional.empty())) {
                keys.add(keyJson(k, now));
            }
            ArrayNode ts = out.putArray("teams");
            teams.forEach(t -> ts.add(teamJson(t, now)));
            return out;
        });
    }

    /**
     * {@code GET /user/list}: {@code {"users", "total", "page", "page_size", "total_pages"}}; filter {@code role};
     * paging {@code page} (from 1) and {@code page_size} (1 to 100, default 25).
     */
    public void listUsers(Context ctx) {
        handle(ctx, () -> {
            checkQuery(ctx, Set.of("role", "page", "page_size"), Set.of("user_ids", "sso_user_ids", "user_email",
                    "team", "sort_by", "sort_order", "organization_id"));
            int page = (int) queryNumber(ctx, "page", 1, Integer.MAX_VALUE / MAX_PAGE).orElse(1L).longValue();
            int size = (int) queryNumber(ctx, "page_size", 1, MAX_PAGE).orElse((long) DEFAULT_USER_PAGE)
                    .longValue();
            Optional<String> role = query(ctx, "role");
            if (role.isPresent() && !User.ROLES.contains(role.get())) {
                throw new ApiError(400, "invalid_parameter", "role", "role: expected one of " + User.ROLES
                        + " (was '" + role.get() + "')");
            }
            KeyStore.Page<User> p = store.users(role, page, size);
            Instant now = now();
            ObjectNode out = NODES.objectNode();
            ArrayNode users = out.putArray("users");
            for (User u : p.items()) {
                users.add(userJson(u, now));
            }
            out.put("total", p.totalCount());
            out.put("page", page);
            out.put("page_size", size);
            out.put("total_pages", (p.totalCount() + size - 1) / size);
            return out;
        });
    }

    /** {@code POST /user/update} {@code {"user_id", …}}: changes the fields given; {@code {"user_id", "data"}}. */
    public void updateUser(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            String id = f.text("user_id").orElseThrow(() -> new ApiError(400, "missing_parameter", "user_id",
                    "missing field user_id (Easel finds users by user_id, not by user_email)"));
            UserEdit edit = UserEdit.read(f);
            f.unsupported(USER_UNSUPPORTED);
            for (String keyField : List.of("key_alias", "duration", "team_id")) {
                f.unsupported(keyField, null);
            }
            f.finish();
            User old = store.user(id).orElseThrow(() -> userNotFound(id));
            Instant now = now();
            User u = edit.apply(old, now);
            u = new User(u.userId(), u.userEmail(), u.userRole(), u.models(), u.limits(), u.metadata(), u.createdAt(),
                    now);
            if (!store.updateUser(u)) {
                throw userNotFound(id);
            }
            changes.publish("user:" + id);
            ObjectNode out = NODES.objectNode();
            out.put("user_id", id);
            out.set("data", userJson(u, now));
            return out;
        });
    }

    /** {@code POST /user/delete} {@code {"user_ids"}}: the users, their keys and memberships; all must exist. */
    public void deleteUsers(Context ctx) {
        handle(ctx, () -> {
            Fields f = new Fields(readBody(ctx, false));
            List<String> ids = f.strings("user_ids").filter(l -> !l.isEmpty()).orElseThrow(() -> new ApiError(400,
                    "missing_parameter", "user_ids", "missing field user_ids (a non-empty list)"));
            f.finish();
            List<String> tokens = new ArrayList<>();
            Set<String> teams = new LinkedHashSet<>();
            for (String id : ids) {
                store.user(id).orElseThrow(() -> userNotFound(id));
                allKeys(Optional.of(id), Optional.empty()).forEach(k -> tokens.add(k.token()));
                allTeams(Optional.of(id)).forEach(t -> teams.add(t.teamId()));
            }
            List<String> deleted = store.deleteUsers(ids);
            deleted.forEach(id -> changes.publish("user:" + id));
            teams.forEach(t -> changes.publish("team:" + t));
            tokens.forEach(t -> changes.publish("key:" + t));
            ObjectNode out = NODES.objectNode();
            ArrayNode arr = out.putArray("deleted_users");
            deleted.forEach(arr::add);
            return out;
        });
    }

    /** What a user write asks to change. */
    private record UserEdit(Optional<String> email, Optional<String> role, Optional<List<String>> models,
                            Optional<BigDecimal> maxBudget, Optional<BudgetDuration> budgetDuration,
                            OptionalLong tpm, OptionalInt rpm, OptionalInt parallel,
                            Optional<Map<String, Object>> metadata) {

        static UserEdit read(Fields f) {
            Optional<String> role = f.text("user_role");
            if (role.isPresent() && !User.ROLES.contains(role.get())) {
                throw new ApiError(400, "invalid_parameter", "user_role", "user_role: expected one of " + User.ROLES
                        + " (was '" + role.get() + "')");
            }
            return new UserEdit(f.text("user_email"), role, f.strings("models"), f.money("max_budget"),
                    f.duration("budget_duration"), f.whole("tpm_limit", Long.MAX_VALUE), f.integer("rpm_limit"),
                    f.integer("max_parallel_requests"), f.object("metadata"));
        }

        User apply(User u, Instant now) {
            KeyLimits l = u.limits();
            boolean budgetChanged = maxBudget.isPresent() && !maxBudget.equals(l.maxBudget())
                    || budgetDuration.isPresent() && !budgetDuration.equals(l.budgetDuration());
            KeyLimits limits = new KeyLimits(maxBudget.or(l::maxBudget), l.softBudget(),
                    budgetDuration.or(l::budgetDuration), budgetChanged ? now : l.budgetAnchor(),
                    rpm.isPresent() ? rpm : l.rpmLimit(), tpm.isPresent() ? tpm : l.tpmLimit(),
                    parallel.isPresent() ? parallel : l.maxParallelRequests());
            return new User(u.userId(), email.or(u::userEmail), role.orElse(u.userRole()), models.orElse(u.models()),
                    limits, metadata.orElse(u.metadata()), u.createdAt(), u.updatedAt());
        }
    }

    private record TeamRef(String teamId, String role) {
    }

    /** {@code teams} of {@code /user/new}: team ids, or {@code {"team_id", "user_role"}} objects. */
    private static List<TeamRef> teams(JsonNode raw) {
        if (raw == null || raw.isNull()) {
            return List.of();
        }
        if (!raw.isArray()) {
            throw invalid("teams", "expected a list of team ids", raw);
        }
        List<TeamRef> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            JsonNode e = raw.get(i);
            String at = "teams[" + i + "]";
            if (e.isTextual() && !e.asText().isBlank()) {
                out.add(new TeamRef(e.asText().strip(), "user"));
            } else if (e.isObject()) {
                Fields m = new Fields(e);
                String id = prefixed(at, () -> m.required("team_id"));
                String role = prefixed(at, () -> m.text("user_role")).orElse("user");
                prefixed(at, () -> {
                    m.unsupported("max_budget_in_team", null);
                    m.finish();
                    return null;
                });
                if (!role.equals("admin") && !role.equals("user")) {
                    throw new ApiError(400, "invalid_parameter", at + ".user_role", at
                            + ".user_role: expected admin or user (was '" + role + "')");
                }
                out.add(new TeamRef(id, role));
            } else {
                throw invalid(at, "expected a team id or {\"team_id\", \"user_role\"}", e);
            }
        }
        return out;
    }

    private static ApiError userNotFound(String id) {
        return notFound("user", "user_id", "no user '" + id + "'");
    }

    // ================================================================ answers

    /** LiteLLM's {@code LiteLLM_VerificationToken} fields Easel has, and the ones it has not at their defaults. */
    ObjectNode keyJson(VirtualKey k, Instant now) {
        ObjectNode o = NODES.objectNode();
        o.put("token", k.token());
        o.put("key_name", k.keyName());
        o.put("key_alias", k.keyAlias().orElse(null));
        o.put("spend", spend.spend("key", k.keyId(), k.limits().windowStart(now)));
        limits(o, k.limits(), now, true);
        o.put("expires", k.expires().map(Instant::toString).orElse(null));
        strings(o.putArray("models"), k.models());
        o.put("user_id", k.userId().orElse(null));
        o.put("team_id", k.teamId().orElse(null));
        o.set("metadata", JSON.valueToTree(k.metadata()));
        strings(o.putArray("tags"), k.tags());
        o.put("blocked", k.blocked());
        o.put("created_at", k.createdAt().toString());
        o.put("created_by", k.createdBy().orElse(null));
        o.put("updated_at", k.updatedAt().toString());
        o.put("updated_by", k.updatedBy().orElse(null));
        // LiteLLM fields Easel does not act on, at the only values it accepts
        o.putObject("aliases");
        o.putObject("config");
        o.putObject("permissions");
        o.putObject("model_spend");
        o.putObject("model_max_budget");
        o.putArray("allowed_cache_controls");
        o.putArray("allowed_routes");
        o.putNull("org_id");
        o.putNull("litellm_budget_table");
        return o;
    }

    /** LiteLLM's {@code LiteLLM_TeamTable}. */
    ObjectNode teamJson(Team t, Instant now) {
        ObjectNode o = NODES.objectNode();
        o.put("team_id", t.teamId());
        o.put("team_alias", t.teamAlias().orElse(null));
        o.putNull("organization_id");
        ArrayNode admins = o.putArray("admins");
        ArrayNode members = o.putArray("members");
        ArrayNode roles = o.putArray("members_with_roles");
        for (TeamMember m : t.members()) {
            (m.role().equals("admin") ? admins : members).add(m.userId());
            ObjectNode r = roles.addObject();
            r.put("user_id", m.userId());
            r.put("user_email", m.userEmail().orElse(null));
            r.put("role", m.role());
        }
        o.set("metadata", JSON.valueToTree(t.metadata()));
        strings(o.putArray("models"), t.models());
        o.put("blocked", t.blocked());
        o.put("spend", spend.spend("team", t.teamId(), t.limits().windowStart(now)));
        limits(o, t.limits(), now, true);
        o.put("created_at", t.createdAt().toString());
        o.put("updated_at", t.updatedAt().toString());
        return o;
    }

    private ObjectNode userJson(User u, Instant now) throws SQLException {
        return userJson(u, now, allTeams(Optional.of(u.userId())).stream().map(Team::teamId).toList());
    }

    /** LiteLLM's {@code LiteLLM_UserTable}. */
    ObjectNode userJson(User u, Instant now, List<String> teams) {
        ObjectNode o = NODES.objectNode();
        o.put("user_id", u.userId());
        o.put("user_email", u.userEmail().orElse(null));
        o.putNull("user_alias");
        o.put("user_role", u.userRole());
        strings(o.putArray("models"), u.models());
        strings(o.putArray("teams"), teams);
        o.put("spend", spend.spend("user", u.userId(), u.limits().windowStart(now)));
        limits(o, u.limits(), now, false);
        o.set("metadata", JSON.valueToTree(u.metadata()));
        o.putObject("model_max_budget");
        o.putObject("model_spend");
        o.putNull("sso_user_id");
        o.put("created_at", u.createdAt().toString());
        o.put("updated_at", u.updatedAt().toString());
        return o;
    }

    private static void limits(ObjectNode o, KeyLimits l, Instant now, boolean soft) {
        o.put("max_budget", l.maxBudget().orElse(null));
        // an Easel addition: what is left of the budget in the current window (spend is put before this)
        com.fasterxml.jackson.databind.JsonNode spent = o.get("spend");
        if (l.maxBudget().isPresent() && spent != null && spent.isNumber()) {
            java.math.BigDecimal left = l.maxBudget().get().subtract(spent.decimalValue());
            o.put("remaining_budget", left.signum() < 0 ? java.math.BigDecimal.ZERO : left);
        } else {
            o.putNull("remaining_budget");
        }
        if (soft) {
            o.put("soft_budget", l.softBudget().orElse(null));
        }
        o.put("budget_duration", l.budgetDuration().map(BudgetDuration::text).orElse(null));
        o.put("budget_reset_at", l.resetAt(now).map(Instant::toString).orElse(null));
        putInt(o, "rpm_limit", l.rpmLimit());
        if (l.tpmLimit().isPresent()) {
            o.put("tpm_limit", l.tpmLimit().getAsLong());
        } else {
            o.putNull("tpm_limit");
        }
        putInt(o, "max_parallel_requests", l.maxParallelRequests());
    }

    private static void putInt(ObjectNode o, String name, OptionalInt v) {
        if (v.isPresent()) {
            o.put(name, v.getAsInt());
        } else {
            o.putNull(name);
        }
    }

    private static void strings(ArrayNode a, List<String> values) {
        values.forEach(a::add);
    }

    // ================================================================ listing helpers

    private List<VirtualKey> allKeys(Optional<String> userId, Optional<String> teamId) throws SQLException {
        List<VirtualKey> out = new ArrayList<>();
        for (int page = 1; ; page++) {
            KeyStore.Page<VirtualKey> p = store.keys(new KeyStore.KeyQuery(userId, teamId, Optional.empty(), page,
                    MAX_PAGE));
            out.addAll(p.items());
            if (p.items().size() < MAX_PAGE) {
                return out;
            }
        }
    }

    private List<Team> allTeams(Optional<String> userId) throws SQLException {
        List<Team> out = new ArrayList<>();
        for (int page = 1; ; page++) {
            KeyStore.Page<Team> p = store.teams(userId, page, MAX_PAGE);
            out.addAll(p.items());
            if (p.items().size() < MAX_PAGE) {
                return out;
            }
        }
    }

    // ================================================================ requests

    /** The JSON body; an empty body is {@code {}} where {@code emptyOk} (a regenerate named by its path). */
    private JsonNode readBody(Context ctx, boolean emptyOk) {
        if (emptyOk && ctx.req().getContentLengthLong() == 0) {
            return NODES.objectNode();
        }
        return body.apply(ctx);
    }

    private static Optional<String> query(Context ctx, String name) {
        String v = ctx.queryParam(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
    }

    private static String queryRequired(Context ctx, String name) {
        return query(ctx, name).orElseThrow(() -> new ApiError(400, "missing_parameter", name,
                "missing query parameter " + name));
    }

    private static Optional<Long> queryNumber(Context ctx, String name, long min, long max) {
        Optional<String> v = query(ctx, name);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        long n;
        try {
            n = Long.parseLong(v.get());
        } catch (NumberFormatException e) {
            throw new ApiError(400, "invalid_parameter", name, name + ": expected an integer (was '" + v.get()
                    + "')");
        }
        if (n < min || n > max) {
            throw new ApiError(400, "invalid_parameter", name, name + " must be between " + min + " and " + max
                    + " (was " + n + ")");
        }
        return Optional.of(n);
    }

    private static boolean queryBool(Context ctx, String name) {
        Optional<String> v = query(ctx, name);
        if (v.isEmpty()) {
            return false;
        }
        return switch (v.get().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ApiError(400, "invalid_parameter", name, name + ": expected true or false (was '"
                    + v.get() + "')");
        };
    }

    /** Query parameters: {@code known} are read; {@code unsupported} (LiteLLM's) refused when given; others unknown. */
    private static void checkQuery(Context ctx, Set<String> known, Set<String> unsupported) {
        for (Map.Entry<String, List<String>> e : ctx.queryParamMap().entrySet()) {
            String name = e.getKey();
            if (known.contains(name)) {
                continue;
            }
            boolean given = e.getValue().stream().anyMatch(Predicate.not(String::isBlank));
            if (unsupported.contains(name)) {
                if (given) {
                    throw new ApiError(400, "unsupported_parameter", name, name
                            + ": Easel does not support this query parameter");
                }
                continue;
            }
            throw new ApiError(400, "unknown_parameter", name, "unknown query parameter '" + name + "'");
        }
    }

    // ================================================================ answering

    private interface Handler {
        JsonNode run() throws SQLException;
    }

    private static void handle(Context ctx, Handler h) {
        int status = 200;
        JsonNode body;
        try {
            body = h.run();
        } catch (ApiError e) {
            status = e.status;
            body = error(e.getMessage(), e.status == 401 ? "authentication_error" : "invalid_request_error", e.param,
                    e.code);
        } catch (EaselException e) {
            status = e.status().orElse(500);
            body = error(e.getMessage(), e.type(), e.param().orElse(null), e.code().orElse(null));
        } catch (SQLException e) {
            LOG.warn("key store: {} {} failed: {}", ctx.method(), maskedPath(ctx.path()), e.toString());
            status = 503;
            body = error("the key store's database is unavailable; try again", "api_error", null,
                    "database_unavailable");
        }
        try {
            ctx.status(status).contentType("application/json").result(JSON.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write an answer", e);
        }
    }

    private static ObjectNode error(String message, String type, String param, String code) {
        ObjectNode o = NODES.objectNode();
        ObjectNode e = o.putObject("error");
        e.put("message", message);
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return o;
    }
}
