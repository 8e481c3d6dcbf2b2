-- Running totals of easel_spend_logs, kept in the same transaction as the rows they count and only for rows
-- actually inserted (a journal replay adds nothing), so budget reads and reports read a few counter rows
-- instead of summing the log.
--   dimension 'all' (key ''), 'end_user' (key '' for rows without one), 'model_group', 'deployment'
--   period    'all' (all time) or the UTC day of the rows' start_time, 'YYYY-MM-DD'
-- COLLATE "C": day ranges compare as plain text whatever the database's locale.
CREATE TABLE easel_spend_counters (
    dimension         TEXT    COLLATE "C" NOT NULL,
    period            TEXT    COLLATE "C" NOT NULL,
    key               TEXT    NOT NULL,
    spend             NUMERIC NOT NULL,
    requests          BIGINT  NOT NULL,
    failures          BIGINT  NOT NULL,
    prompt_tokens     BIGINT  NOT NULL,
    completion_tokens BIGINT  NOT NULL,
    total_tokens      BIGINT  NOT NULL,
    images_out        BIGINT  NOT NULL,
    PRIMARY KEY (dimension, period, key)
);

-- An end user's spend in one budget window [window_start, window_end). Made from the log the first time a budget
-- reads that window (under the end user's advisory lock, which writers take too), then kept up by every insert
-- whose start_time falls inside it. A cache of a pure function of the log: a row may be deleted at any time.
CREATE TABLE easel_budget_windows (
    end_user     TEXT        NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    spend        NUMERIC     NOT NULL,
    requests     BIGINT      NOT NULL,
    PRIMARY KEY (end_user, window_start, window_end)
);

-- Rows written before this migration: all-time and per-day counters from the log.
INSERT INTO easel_spend_counters (dimension, period, key, spend, requests, failures, prompt_tokens,
                                  completion_tokens, total_tokens, images_out)
SELECT d.dimension, p.period, d.key, COALESCE(SUM(l.spend), 0), COUNT(*),
       SUM(CASE WHEN l.status = 'failure' THEN 1 ELSE 0 END), SUM(l.prompt_tokens), SUM(l.completion_tokens),
       SUM(l.total_tokens), SUM(l.images_out)
FROM easel_spend_logs l
CROSS JOIN LATERAL (VALUES ('all', ''), ('end_user', COALESCE(l.end_user, '')), ('model_group', l.model_group),
                           ('deployment', l.deployment_id)) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('all'), (to_char(l.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'))) AS p (period)
GROUP BY d.dimension, p.period, d.key;
