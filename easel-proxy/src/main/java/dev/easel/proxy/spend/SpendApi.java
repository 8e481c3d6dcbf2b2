package dev.easel.proxy.spend;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.EaselException;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The spend endpoints as Javalin handlers. The proxy registers them behind master-key auth:
 *
 * <pre>{@code
 * SpendApi api = new SpendApi(spend, ctx -> readBoundedJson(ctx));
 * c.routes.get("/spend/logs", api::logs);
 * c.routes.get("/spend/logs/v2", api::logsPage);
 * c.routes.get("/end_user/info", api::endUserInfo);
 * c.routes.get("/customer/info", api::endUserInfo);
 * c.routes.post("/end_user/new", api::newEndUser);
 * c.routes.post("/customer/new", api::newEndUser);
 * c.routes.post("/customer/update", api::updateEndUser);   // each also as /end_user/…
 * c.routes.post("/customer/delete", api::deleteEndUsers);
 * c.routes.post("/customer/block", api::blockEndUsers);
 * c.routes.post("/customer/unblock", api::unblockEndUsers);
 * c.routes.get("/global/spend/report", api::report);
 * }</pre>
 *
 * Errors are OpenAI error JSON: 400 for a bad parameter, 404 for an unknown end user, 503 while the database
 * cannot be reached, and whatever status the body reader throws (the proxy's refuses a body over
 * {@code general_settings.max_json_body_bytes} with 413).
 */
public final class SpendApi {

    private final SpendService spend;
    private final Function<Context, JsonNode> body;

    /**
     * Handlers over a service; {@code body} reads and parses a request's JSON body within the caller's limits (size,
     * nesting, time), throwing an {@link EaselException} with the status to answer when it cannot.
     */
    public SpendApi(SpendService spend, Function<Context, JsonNode> body) {
        this.spend = Objects.requireNonNull(spend, "spend");
        this.body = Objects.requireNonNull(body, "body");
    }

    /**
     * The {@code api_key} filter's value (a key or its hash) → the id the key's spend rows carry (the hash; for a
     * virtual key its stable id, which survives a regenerate). The proxy sets it; identity by default.
     */
    private volatile Function<String, String> keyIds = Function.identity();

    /** Sets how an {@code api_key} filter finds the id the key's rows carry (hashing, the proxy's key store). */
    public void keyIds(Function<String, String> ids) {
        this.keyIds = Objects.requireNonNull(ids, "ids");
    }

    private SpendQuery withKeyId(SpendQuery q) {
        return q.keyHash().isPresent() ? q.withKeyHash(keyIds.apply(q.keyHash().get())) : q;
    }

    /** A bad query parameter or body field. */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String param;
        final String code;

        BadRequest(String param, String code, String message) {
            super(message, null, false, false);
            this.param = param;
            this.code = code;
        }
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    /**
     * {@code GET /spend/logs}: a JSON array of rows, newest first (LiteLLM's shape). Filters {@code start_date},
     * {@code end_date}, {@code end_user}, {@code model}, {@code model_id} (deployment), {@code status},
     * {@code request_id}, {@code client_request_id}; paging {@code page}/{@code page_size}, {@code limit}/{@code offset},
     * or {@code cursor} (with {@code page_size} or {@code limit}). The headers {@code x-total-count}, {@code x-page},
     * {@code x-page-size} tell the paging and {@code x-next-cursor} the cursor of the next page (absent on the last).
     */
    public void logs(Context ctx) {
        handle(ctx, () -> {
            SpendQuery q = withKeyId(query(ctx));
            SpendPage page = spend.logs(q);
            ctx.header("x-total-count", Long.toString(page.total()));
            if (q.after().isEmpty()) {
                ctx.header("x-page", Long.toString(page.offset() / page.limit() + 1));
            }
            ctx.header("x-page-size", Integer.toString(page.limit()));
            page.next().ifPresent(n -> ctx.header("x-next-cursor", n.token()));
            return g -> {
                g.writeStartArray();
                for (SpendRecord r : page.rows()) {
                    SpendJson.write(g, r);
                }
                g.writeEndArray();
            };
        });
    }

    /**
     * {@code GET /spend/logs/v2}: the same rows as {@link #logs} inside
     * {@code {"data":[…],"total","page","page_size","total_pages","next_cursor"}}; {@code page} is null on a page
     * read with a cursor, {@code next_cursor} null on the last page.
     */
    public void logsPage(Context ctx) {
        handle(ctx, () -> {
            SpendQuery q = withKeyId(query(ctx));
            SpendPage page = spend.logs(q);
            return g -> {
                g.writeStartObject();
                g.writeArrayFieldStart("data");
                for (SpendRecord r : page.rows()) {
                    SpendJson.write(g, r);
                }
                g.writeEndArray();
                g.writeNumberField("total", page.total());
                if (q.after().isEmpty()) {
                    g.writeNumberField("page", page.offset() / page.limit() + 1);
                } else {
                    g.writeNullField("page");
                }
                g.writeNumberField("page_size", page.limit());
                g.writeNumberField("total_pages", (page.total() + page.limit() - 1) / page.limit());
                g.writeStringField("next_cursor", page.next().map(SpendCursor::token).orElse(null));
                g.writeEndObject();
            };
        });
    }

    /** {@code GET /end_user/info?end_user_id=} (also {@code /customer/info}); 404 for an unknown end user. */
    public void endUserInfo(Context ctx) {
        handle(ctx, () -> {
            String id = firstParam(ctx, "end_user_id", "customer_id", "user_id")
                    .orElseThrow(() -> new BadRequest("end_user_id", "missing_parameter",
                            "missing query parameter end_user_id"));
            EndUserInfo info = spend.endUserInfo(id).orElse(null);
            if (info == null) {
                return notFound(ctx, "end user '" + id + "' not found", "end_user_id");
            }
            return g -> writeInfo(g, info);
        });
    }

    /**
     * {@code POST /end_user/new} (also {@code /customer/new}): JSON {@code {"user_id"|"end_user_id", "max_budget",
     * "budget_duration", "blocked"}}; creates or replaces the end user's budget (and sets {@code blocked} when
     * given) and answers like {@link #endUserInfo}. LiteLLM's other fields are accepted only at their defaults.
     */
    public void newEndUser(Context ctx) {
        handle(ctx, () -> {
            JsonNode body = customerBody(ctx, CUSTOMER_FIELDS);
            String id = userId(body);
            Optional<BigDecimal> max = maxBudget(body);
            Optional<String> duration = text(body, "budget_duration");
            Optional<Boolean> blocked = flag(body, "blocked");
            EndUserInfo info = invalidAsBadRequest(() -> {
                EndUserInfo created = spend.createEndUser(id, max, duration);
                return blocked.isEmpty() ? created
                        : spend.updateEndUser(id, Optional.empty(), Optional.empty(), blocked).orElseThrow();
            });
            return g -> writeInfo(g, info);
        });
    }

    /**
     * {@code POST /customer/update} (also {@code /end_user/update}): JSON {@code {"user_id", "max_budget",
     * "budget_duration", "blocked"}}; each field given replaces the stored one (a new {@code budget_duration} starts
     * a new window). 404 for an end user with neither a stored row nor a request.
     */
    public void updateEndUser(Context ctx) {
        handle(ctx, () -> {
            JsonNode body = customerBody(ctx, CUSTOMER_FIELDS);
            String id = userId(body);
            Optional<BigDecimal> max = maxBudget(body);
            Optional<String> duration = text(body, "budget_duration");
            Optional<Boolean> blocked = flag(body, "blocked");
            Optional<EndUserInfo> info = invalidAsBadRequest(() -> spend.updateEndUser(id, max, duration, blocked));
            if (info.isEmpty()) {
                return notFound(ctx, "end user '" + id + "' not found", "user_id");
            }
            return g -> writeInfo(g, info.get());
        });
    }

    /**
     * {@code POST /customer/delete} (also {@code /end_user/delete}): JSON {@code {"user_ids":[…]}}; deletes the end
     * users' budgets and blocked flags (their spend rows stay). 404 naming every unknown end user, and then nothing is
     * deleted. Answers {@code {"deleted_customers": <rows>, "message": …}} as LiteLLM does.
     */
    public void deleteEndUsers(Context ctx) {
        handle(ctx, () -> {
            List<String> ids = userIds(customerBody(ctx, IDS_FIELDS));
            SpendService.DeleteResult r = invalidAsBadRequest(() -> spend.deleteEndUsers(ids));
            if (!r.unknown().isEmpty()) {
                return notFound(ctx, "end users not found: " + String.join(", ", r.unknown()), "user_ids");
            }
            return g -> {
                g.writeStartObject();
                g.writeNumberField("deleted_customers", r.deleted());
                g.writeStringField("message", "Successfully deleted customers with ids: " + ids);
                g.writeEndObject();
            };
        });
    }

    /**
     * {@code POST /customer/block} (also {@code /end_user/block}): JSON {@code {"user_ids":[…]}}; their edits are
     * refused from now on (400, as LiteLLM). An end user not stored yet is created. Answers
     * {@code {"blocked_users":[<end user>…]}}.
     */
    public void blockEndUsers(Context ctx) {
        handle(ctx, () -> {
            List<String> ids = userIds(customerBody(ctx, IDS_FIELDS));
            List<EndUserInfo> infos = invalidAsBadRequest(() -> spend.blockEndUsers(ids));
            return g -> writeInfos(g, "blocked_users", infos);
        });
    }

    /**
     * {@code POST /customer/unblock} (also {@code /end_user/unblock}): JSON {@code {"user_ids":[…]}}; 404 naming
     * every end user that is not stored, and then nothing changes. Answers {@code {"unblocked_users":[<end user>…]}}.
     */
    public void unblockEndUsers(Context ctx) {
        handle(ctx, () -> {
            List<String> ids = userIds(customerBody(ctx, IDS_FIELDS));
            Optional<List<EndUserInfo>> infos = invalidAsBadRequest(() -> spend.unblockEndUsers(ids));
            if (infos.isEmpty()) {
                return notFound(ctx, "end users not found: " + String.join(", ", spend.unstored(ids)), "user_ids");
            }
            return g -> writeInfos(g, "unblocked_users", infos.get());
        });
    }

    // ---------------------------------------------------------------- customer bodies

    /** Fields of {@code /customer/new} and {@code /customer/update} that Easel acts on. */
    private static final List<String> CUSTOMER_FIELDS = List.of("user_id", "end_user_id", "max_budget",
            "budget_duration", "blocked");
    /** The field of {@code /customer/delete}, {@code /block}, {@code /unblock}. */
    private static final List<String> IDS_FIELDS = List.of("user_ids");
    /**
     * LiteLLM's customer fields Easel does not act on (no regions, aliases, shared budget ids, per-end-user rate
     * limits, soft budgets or object permissions): accepted at their defaults only, so a request that relies on one
     * is refused rather than half-applied.
     */
    private static final List<String> UNSUPPORTED = List.of("alias", "spend", "budget_id", "allowed_model_region",
            "default_model", "soft_budget", "max_parallel_requests", "tpm_limit", "rpm_limit", "model_max_budget",
            "budget_reset_at", "object_permission");

    /** The JSON object body, every field known: one Easel acts on, or an unsupported one at its default. */
    private JsonNode customerBody(Context ctx, List<String> fields) {
        JsonNode body = this.body.apply(ctx);
        if (body == null || !body.isObject()) {
            throw new BadRequest(null, "invalid_json", "request body must be a JSON object");
        }
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (fields.contains(f)) {
                continue;
            }
            if (fields == CUSTOMER_FIELDS && UNSUPPORTED.contains(f)) {
                JsonNode v = body.get(f);
                boolean atDefault = v.isNull() || ("spend".equals(f) && v.isNumber() && v.decimalValue().signum() == 0)
                        || (("model_max_budget".equals(f) || "object_permission".equals(f)) && v.isObject()
                        && v.isEmpty());
                if (!atDefault) {
                    throw new BadRequest(f, "unsupported_parameter", f + " is not supported by Easel (was " + v
                            + "); leave it out or null");
                }
                continue;
            }
            throw new BadRequest(f, "unknown_parameter", "unknown field '" + f + "' (expected "
                    + String.join(", ", fields) + ")");
        }
        return body;
    }

    private static String userId(JsonNode body) {
        return text(body, "end_user_id").or(() -> text(body, "user_id"))
                .orElseThrow(() -> new BadRequest("user_id", "missing_parameter",
                        "missing field user_id (or end_user_id)"));
    }

    private static Optional<BigDecimal> maxBudget(JsonNode body) {
        JsonNode m = body.get("max_budget");
        if (m == null || m.isNull()) {
            return Optional.empty();
        }
        if (!m.isNumber()) {
            throw new BadRequest("max_budget", "invalid_parameter", "max_budget: expected a number (was " + m + ")");
        }
        return Optional.of(m.decimalValue());
    }

    private static Optional<Boolean> flag(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            throw new BadRequest(field, "invalid_parameter", field + ": expected true or false (was " + v + ")");
        }
        return Optional.of(v.booleanValue());
    }

    private static List<String> userIds(JsonNode body) {
        JsonNode v = body.get("user_ids");
        if (v == null || v.isNull()) {
            throw new BadRequest("user_ids", "missing_parameter", "missing field user_ids (a list of end-user ids)");
        }
        if (!v.isArray()) {
            throw new BadRequest("user_ids", "invalid_parameter", "user_ids: expected a list of strings (was " + v
                    + ")");
        }
        List<String> ids = new java.util.ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual() || e.asText().isBlank()) {
                throw new BadRequest("user_ids", "invalid_parameter", "user_ids: expected non-empty strings (was " + e
                        + ")");
            }
            ids.add(e.asText().strip());
        }
        return ids;
    }

    /** Runs a service call, its {@link IllegalArgumentException} (a bad value) answered 400 naming the field. */
    private static <T> T invalidAsBadRequest(java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            String param = m.startsWith("budget_duration") ? "budget_duration"
                    : m.startsWith("max_budget") ? "max_budget" : m.startsWith("user_ids") ? "user_ids" : "user_id";
            throw new BadRequest(param, "invalid_parameter", m);
        }
    }

    /**
     * {@code GET /global/spend/report?group_by=model|end_user|deployment|day} (default {@code model};
     * {@code customer} means {@code end_user}, {@code model_id} {@code deployment}) with
     * {@code start_date}/{@code end_date}: one entry per group, ordered by key (no end user first).
     */
    public void report(Context ctx) {
        handle(ctx, () -> {
            String raw = Optional.ofNullable(ctx.queryParam("group_by")).filter(s -> !s.isBlank()).orElse("model");
            SpendGroupBy group = SpendGroupBy.parse(raw).orElseThrow(() -> new BadRequest("group_by",
                    "invalid_parameter", "group_by: expected model, end_user, deployment, day, api_key, team or user (was '" + raw + "')"));
            List<SpendReportRow> rows = spend.report(group, date(ctx, "start_date", false), date(ctx, "end_date", true));
            return g -> {
                g.writeStartArray();
                for (SpendReportRow r : rows) {
                    g.writeStartObject();
                    g.writeStringField(group.param(), r.key().orElse(null));
                    g.writeNumberField("spend", r.spend());
                    g.writeNumberField("requests", r.requests());
                    g.writeNumberField("failures", r.failures());
                    g.writeNumberField("prompt_tokens", r.promptTokens());
                    g.writeNumberField("completion_tokens", r.completionTokens());
                    g.writeNumberField("total_tokens", r.totalTokens());
                    g.writeNumberField("images_out", r.imagesOut());
                    g.writeEndObject();
                }
                g.writeEndArray();
            };
        });
    }

    // ---------------------------------------------------------------- parsing

    static SpendQuery query(Context ctx) {
        SpendQuery q = SpendQuery.all().withRange(date(ctx, "start_date", false), date(ctx, "end_date", true));
        Optional<String> keyParam = firstParam(ctx, "api_key");
        if (keyParam.isPresent()) { // LiteLLM's api_key filter: a key or its hash, made the rows' id by keyIds
            q = q.withKeyHash(keyParam.get());
        }
        Optional<String> teamParam = firstParam(ctx, "team_id");
        if (teamParam.isPresent()) {
            q = q.withTeamId(teamParam.get());
        }
        Optional<String> userParam = firstParam(ctx, "user_id");
        if (userParam.isPresent()) {
            q = q.withUserId(userParam.get());
        }
        Optional<String> endUser = firstParam(ctx, "end_user", "end_user_id", "customer_id");
        if (endUser.isPresent()) {
            q = q.withEndUser(endUser.get());
        }
        Optional<String> model = firstParam(ctx, "model", "model_group");
        if (model.isPresent()) {
            q = q.withModel(model.get());
        }
        Optional<String> deployment = firstParam(ctx, "model_id", "deployment_id");
        if (deployment.isPresent()) {
            q = q.withDeploymentId(deployment.get());
        }
        Optional<String> status = firstParam(ctx, "status");
        if (status.isPresent()) {
            if (!status.get().equals(SpendRecord.SUCCESS) && !status.get().equals(SpendRecord.FAILURE)) {
                throw new BadRequest("status", "invalid_parameter", "status: expected success or failure (was '"
                        + status.get() + "')");
            }
            q = q.withStatus(status.get());
        }
        Optional<String> requestId = firstParam(ctx, "request_id");
        if (requestId.isPresent()) {
            q = q.withRequestId(requestId.get());
        }
        Optional<String> clientRequestId = firstParam(ctx, "client_request_id");
        if (clientRequestId.isPresent()) {
            q = q.withClientRequestId(clientRequestId.get());
        }
        Optional<Long> limit = number(ctx, "limit", 1, SpendQuery.MAX_LIMIT);
        Optional<Long> offset = number(ctx, "offset", 0, Long.MAX_VALUE);
        Optional<String> cursor = firstParam(ctx, "cursor");
        if (cursor.isPresent()) {
            if (offset.isPresent() || ctx.queryParam("page") != null) {
                throw new BadRequest("cursor", "invalid_parameter",
                        "use either cursor or page/offset, not both (the cursor says where the page starts)");
            }
            if (limit.isPresent() && ctx.queryParam("page_size") != null) {
                throw new BadRequest("page_size", "invalid_parameter", "use either page_size or limit, not both");
            }
            SpendCursor after;
            try {
                after = SpendCursor.parse(cursor.get());
            } catch (IllegalArgumentException e) {
                throw new BadRequest("cursor", "invalid_parameter", e.getMessage());
            }
            long size = limit.or(() -> number(ctx, "page_size", 1, SpendQuery.MAX_LIMIT))
                    .orElse((long) SpendQuery.DEFAULT_LIMIT);
            return q.withCursor(after, (int) size);
        }
        if (limit.isPresent() || offset.isPresent()) {
            if (ctx.queryParam("page") != null || ctx.queryParam("page_size") != null) {
                throw new BadRequest("page", "invalid_parameter",
                        "use either page/page_size or limit/offset, not both");
            }
            return q.withPaging(offset.orElse(0L), limit.orElse((long) SpendQuery.DEFAULT_LIMIT).intValue());
        }
        long size = number(ctx, "page_size", 1, SpendQuery.MAX_LIMIT).orElse((long) SpendQuery.DEFAULT_LIMIT);
        long page = number(ctx, "page", 1, Long.MAX_VALUE / SpendQuery.MAX_LIMIT).orElse(1L);
        return q.withPaging((page - 1) * size, (int) size);
    }

    /**
     * A date ({@code 2026-11-01}, a whole UTC day) or an ISO-8601 time ({@code 2026-11-01T10:00:00Z}; without an
     * offset it is UTC). As an end bound a date includes its whole day.
     */
    static Optional<Instant> date(Context ctx, String param, boolean end) {
        String v = ctx.queryParam(param);
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        String s = v.strip();
        try {
            if (s.length() == 10) {
                LocalDate d = LocalDate.parse(s);
                return Optional.of((end ? d.plusDays(1) : d).atStartOfDay(ZoneOffset.UTC).toInstant());
            }
            try {
                return Optional.of(OffsetDateTime.parse(s).toInstant());
            } catch (DateTimeException e) {
                return Optional.of(LocalDateTime.parse(s).toInstant(ZoneOffset.UTC));
            }
        } catch (DateTimeException e) {
            throw new BadRequest(param, "invalid_parameter", param + ": expected a date like 2026-11-01 or an "
                    + "ISO-8601 time like 2026-11-01T10:00:00Z (was '" + v + "')");
        }
    }

    private static Optional<Long> number(Context ctx, String param, long min, long max) {
        String v = ctx.queryParam(param);
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        long n;
        try {
            n = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new BadRequest(param, "invalid_parameter", param + ": expected an integer (was '" + v + "')");
        }
        if (n < min || n > max) {
            throw new BadRequest(param, "invalid_parameter", param + " must be between " + min + " and " + max
                    + " (was " + n + ")");
        }
        return Optional.of(n);
    }

    private static Optional<String> firstParam(Context ctx, String... names) {
        for (String n : names) {
            String v = ctx.queryParam(n);
            if (v != null && !v.isBlank()) {
                return Optional.of(v.strip());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual() && !v.isNumber()) {
            throw new BadRequest(field, "invalid_parameter", field + ": expected a string (was " + v + ")");
        }
        return Optional.of(v.asText().strip()).filter(s -> !s.isEmpty());
    }

    // ---------------------------------------------------------------- writing

    private static void writeInfo(JsonGenerator g, EndUserInfo i) throws IOException {
        g.writeStartObject();
        g.writeStringField("end_user_id", i.endUserId());
        g.writeStringField("user_id", i.endUserId());
        g.writeNumberField("spend", i.spend());
        g.writeNumberField("requests", i.requests());
        if (i.maxBudget().isPresent()) {
            g.writeNumberField("max_budget", i.maxBudget().get());
        } else {
            g.writeNullField("max_budget");
        }
        g.writeStringField("budget_duration", i.budgetDuration().orElse(null));
        g.writeStringField("budget_reset_at", i.budgetResetAt().map(Instant::toString).orElse(null));
        g.writeNumberField("total_spend", i.totalSpend());
        g.writeNumberField("total_requests", i.totalRequests());
        g.writeBooleanField("blocked", i.blocked());
        // LiteLLM_EndUserTable's nested budget, for clients that read it there
        if (i.maxBudget().isPresent() || i.budgetDuration().isPresent()) {
            g.writeObjectFieldStart("litellm_budget_table");
            if (i.maxBudget().isPresent()) {
                g.writeNumberField("max_budget", i.maxBudget().get());
            } else {
                g.writeNullField("max_budget");
            }
            g.writeStringField("budget_duration", i.budgetDuration().orElse(null));
            g.writeStringField("budget_reset_at", i.budgetResetAt().map(Instant::toString).orElse(null));
            g.writeEndObject();
        } else {
            g.writeNullField("litellm_budget_table");
        }
        g.writeEndObject();
    }

    private static void writeInfos(JsonGenerator g, String field, List<EndUserInfo> infos) throws IOException {
        g.writeStartObject();
        g.writeArrayFieldStart(field);
        for (EndUserInfo i : infos) {
            writeInfo(g, i);
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** 404 {@code end_user_not_found} naming {@code param}. */
    private static Body notFound(Context ctx, String message, String param) {
        ctx.status(404);
        return error(message, "invalid_request_error", param, "end_user_not_found");
    }

    private static Body error(String message, String type, String param, String code) {
        return g -> {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", message);
            g.writeStringField("type", type);
            g.writeStringField("param", param);
            g.writeStringField("code", code);
            g.writeEndObject();
            g.writeEndObject();
        };
    }

    private interface Handler {
        Body run();
    }

    private static void handle(Context ctx, Handler h) {
        Body body;
        try {
            ctx.status(200);
            body = h.run();
        } catch (BadRequest e) {
            ctx.status(400);
            body = error(e.getMessage(), "invalid_request_error", e.param, e.code);
        } catch (EaselException e) {
            ctx.status(e.status().orElse(500));
            body = error(e.getMessage(), e.type(), e.param().orElse(null), e.code().orElse(null));
        }
        StringWriter w = new StringWriter();
        try (JsonGenerator g = SpendJson.FACTORY.createGenerator(w)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ctx.contentType("application/json").result(w.toString());
    }
}
