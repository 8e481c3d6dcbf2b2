-- Who a row is counted against besides its end user and key hash: the virtual key's alias, team and user
-- (issue 15). Budgets and totals now exist for four dimensions (end_user, key, team, user), so the budget-window
-- cache is keyed by (dimension, subject); it is a cache of a pure function of the log, so it is rebuilt empty.
ALTER TABLE easel_spend_logs ADD COLUMN key_alias TEXT;
ALTER TABLE easel_spend_logs ADD COLUMN team_id TEXT;
ALTER TABLE easel_spend_logs ADD COLUMN user_id TEXT;
CREATE INDEX easel_spend_logs_key_time_id ON easel_spend_logs (key_hash, start_time, request_id);
CREATE INDEX easel_spend_logs_team_time_id ON easel_spend_logs (team_id, start_time, request_id);
CREATE INDEX easel_spend_logs_user_time_id ON easel_spend_logs (user_id, start_time, request_id);

DROP TABLE easel_budget_windows;
CREATE TABLE easel_budget_windows (
    dimension    TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    spend        NUMERIC     NOT NULL,
    requests     BIGINT      NOT NULL,
    PRIMARY KEY (dimension, subject, window_start, window_end)
);

-- Rows written before: the per-key counters (rows carried the presented key's hash already; team and user are new)
INSERT INTO easel_spend_counters (dimension, period, key, spend, requests, failures, prompt_tokens,
                                  completion_tokens, total_tokens, images_out)
SELECT 'key', p.period, l.key_hash, COALESCE(SUM(l.spend), 0), COUNT(*),
       SUM(CASE WHEN l.status = 'failure' THEN 1 ELSE 0 END), SUM(l.prompt_tokens), SUM(l.completion_tokens),
       SUM(l.total_tokens), SUM(l.images_out)
FROM easel_spend_logs l
CROSS JOIN LATERAL (VALUES ('all'), (to_char(l.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'))) AS p (period)
WHERE l.key_hash IS NOT NULL AND l.key_hash <> ''
GROUP BY p.period, l.key_hash;
