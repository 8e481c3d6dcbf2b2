-- One row per proxied request. request_id is the idempotency key: journal replays insert ON CONFLICT DO NOTHING.
CREATE TABLE easel_spend_logs (
    request_id          TEXT        NOT NULL PRIMARY KEY,
    start_time          TIMESTAMPTZ NOT NULL,
    end_time            TIMESTAMPTZ NOT NULL,
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
    spend               NUMERIC,
    prompt_tokens       BIGINT      NOT NULL,
    completion_tokens   BIGINT      NOT NULL,
    total_tokens        BIGINT      NOT NULL,
    input_text_tokens   BIGINT      NOT NULL,
    input_image_tokens  BIGINT      NOT NULL,
    output_image_tokens BIGINT      NOT NULL,
    output_text_tokens  BIGINT      NOT NULL,
    images_in           INTEGER     NOT NULL,
    images_out          INTEGER     NOT NULL,
    bytes_in            BIGINT      NOT NULL,
    bytes_out           BIGINT      NOT NULL,
    latency_ms          BIGINT      NOT NULL,
    upstream_ms         BIGINT      NOT NULL,
    attempts            INTEGER     NOT NULL,
    fallback_used       BOOLEAN     NOT NULL
);
CREATE INDEX easel_spend_logs_start_time ON easel_spend_logs (start_time);
CREATE INDEX easel_spend_logs_end_user ON easel_spend_logs (end_user, start_time);
CREATE INDEX easel_spend_logs_model_group ON easel_spend_logs (model_group, start_time);

-- End users with a budget (from general_settings.end_user_budgets or POST /end_user/new).
CREATE TABLE easel_end_users (
    end_user_id     TEXT        NOT NULL PRIMARY KEY,
    max_budget      NUMERIC,
    budget_duration TEXT,
    budget_anchor   TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
