-- Running totals of easel_spend_logs, kept in the same transaction as the rows they count and only for rows
-- actually inserted (a journal replay adds nothing), so budget reads and reports read a few counter rows
-- instead of summing the log.
--   dimension 'all' (key ''), 'end_user' (key '' for rows without one), 'model_group', 'deployment'
--   period    'all' (all time) or the UTC day of the rows' start_time, 'YYYY-MM-DD'
-- Money is decimal text: easel_decimal_add() and easel_decimal_sum(), registered by the store on each of its
-- connections (this migration runs on one of them), add it exactly.
CREATE TABLE easel_spend_counters (
    dimension         TEXT    NOT NULL,
    period            TEXT    NOT NULL,
    key               TEXT    NOT NULL,
    spend             TEXT    NOT NULL,
    requests          INTEGER NOT NULL,
    failures          INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    images_out        INTEGER NOT NULL,
    PRIMARY KEY (dimension, period, key)
);

-- An end user's spend in one budget window [window_start, window_end). Made from the log the first time a budget
-- reads that window (in an IMMEDIATE transaction, so no write runs meanwhile), then kept up by every insert whose
-- start_time falls inside it. A cache of a pure function of the log: a row may be deleted at any time.
CREATE TABLE easel_budget_windows (
    end_user     TEXT    NOT NULL,
    window_start TEXT    NOT NULL,
    window_end   TEXT    NOT NULL,
    spend        TEXT    NOT NULL,
    requests     INTEGER NOT NULL,
    PRIMARY KEY (end_user, window_start, window_end)
);

-- Rows written before this migration: all-time and per-day counters from the log.
INSERT INTO easel_spend_counters (dimension, period, key, spend, requests, failures, prompt_tokens,
                                  completion_tokens, total_tokens, images_out)
SELECT dimension, period, key, easel_decimal_sum(spend), COUNT(*),
       SUM(CASE WHEN status = 'failure' THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens),
       SUM(total_tokens), SUM(images_out)
FROM (
    SELECT d.dimension, CASE WHEN k.kind = 'all' THEN 'all' ELSE substr(d.start_time, 1, 10) END AS period, d.key,
           d.spend, d.status, d.prompt_tokens, d.completion_tokens, d.total_tokens, d.images_out
    FROM (
        SELECT 'all' AS dimension, '' AS key, start_time, spend, status, prompt_tokens, completion_tokens, total_tokens, images_out FROM easel_spend_logs
        UNION ALL SELECT 'end_user', COALESCE(end_user, ''), start_time, spend, status, prompt_tokens, completion_tokens, total_tokens, images_out FROM easel_spend_logs
        UNION ALL SELECT 'model_group', model_group, start_time, spend, status, prompt_tokens, completion_tokens, total_tokens, images_out FROM easel_spend_logs
        UNION ALL SELECT 'deployment', deployment_id, start_time, spend, status, prompt_tokens, completion_tokens, total_tokens, images_out FROM easel_spend_logs
    ) d
    CROSS JOIN (SELECT 'all' AS kind UNION ALL SELECT 'day') k
)
GROUP BY dimension, period, key;
