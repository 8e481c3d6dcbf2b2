-- SQLite: times are fixed-width ISO-8601 UTC text (2026-11-01T10:00:00.000000Z, so text order is time order);
-- money is decimal text, summed exactly by the easel_decimal_sum() function the store registers.
-- One row per proxied request. request_id is the idempotency key: journal replays insert ON CONFLICT DO NOTHING.
CREATE TABLE easel_spend_logs (
    request_id          TEXT        NOT NULL PRIMARY KEY,
    start_time          TEXT        NOT NULL,
    end_time            TEXT        NOT NULL,
    model_group         TEXT        NOT NULL,
    deployment_id       TEXT        NOT NULL,
    provider            TEXT        NOT NULL,
    model               TEXT        NOT NULL,
    api_base            TEXT,
    end_user            TEXT,
    key_hash            TEXT,
    status              TEXT        NOT NULL,
    http_status         INTEGER     NOT NULL,
    error_type          TEXT,
    error_code          TEXT,
    spend               TEXT,
    prompt_tokens       INTEGER     NOT NULL,
    completion_tokens   INTEGER     NOT NULL,
    total_tokens        INTEGER     NOT NULL,
    input_text_tokens   INTEGER     NOT NULL,
    input_image_tokens  INTEGER     NOT NULL,
    output_image_tokens INTEGER     NOT NULL,
    output_text_tokens  INTEGER     NOT NULL,
    images_in           INTEGER     NOT NULL,
    images_out          INTEGER     NOT NULL,
    bytes_in            INTEGER     NOT NULL,
    bytes_out           INTEGER     NOT NULL,
    latency_ms          INTEGER     NOT NULL,
    upstream_ms         INTEGER     NOT NULL,
    attempts            INTEGER     NOT NULL,
    fallback_used       INTEGER     NOT NULL
);
CREATE INDEX easel_spend_logs_start_time ON easel_spend_logs (start_time);
CREATE INDEX easel_spend_logs_end_user ON easel_spend_logs (end_user, start_time);
CREATE INDEX easel_spend_logs_model_group ON easel_spend_logs (model_group, start_time);

-- End users with a budget (from general_settings.end_user_budgets or POST /end_user/new).
CREATE TABLE easel_end_users (
    end_user_id     TEXT        NOT NULL PRIMARY KEY,
    max_budget      TEXT,
    budget_duration TEXT,
    budget_anchor   TEXT        NOT NULL,
    created_at      TEXT        NOT NULL,
    updated_at      TEXT        NOT NULL
);
