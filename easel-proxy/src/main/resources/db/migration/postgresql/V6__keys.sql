-- Virtual keys, teams, their members and users (issue 15). A key is stored only as the SHA-256 hex of the key
-- (token), as LiteLLM stores it. Lists and maps are JSON text. Every write also bumps easel_auth_version in the
-- same transaction (its row lock serializes the writers), so a replica polling it learns that cached entries may
-- be stale. V5 is another change's number.
CREATE TABLE easel_auth_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO easel_auth_version (id, version) VALUES (1, 0);

CREATE TABLE easel_users (
    user_id               TEXT        PRIMARY KEY,
    user_email            TEXT,
    user_role             TEXT        NOT NULL,
    models                TEXT        NOT NULL,
    max_budget            NUMERIC,
    soft_budget           NUMERIC,
    budget_duration       TEXT,
    budget_anchor         TIMESTAMPTZ NOT NULL,
    rpm_limit             INTEGER,
    tpm_limit             BIGINT,
    max_parallel_requests INTEGER,
    metadata              TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX easel_users_role ON easel_users (user_role, user_id);

CREATE TABLE easel_teams (
    team_id               TEXT        PRIMARY KEY,
    team_alias            TEXT,
    models                TEXT        NOT NULL,
    max_budget            NUMERIC,
    soft_budget           NUMERIC,
    budget_duration       TEXT,
    budget_anchor         TIMESTAMPTZ NOT NULL,
    rpm_limit             INTEGER,
    tpm_limit             BIGINT,
    max_parallel_requests INTEGER,
    metadata              TEXT        NOT NULL,
    blocked               BOOLEAN     NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

-- members_with_roles, in the team's order (position); deleted with their team by the store
CREATE TABLE easel_team_members (
    team_id    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    user_email TEXT,
    role       TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX easel_team_members_user ON easel_team_members (user_id);

-- key_id: the first token of a key, kept across /key/regenerate (its spend rows and budget window carry it)
CREATE TABLE easel_keys (
    token                 TEXT        PRIMARY KEY,
    key_name              TEXT        NOT NULL,
    key_alias             TEXT        UNIQUE,
    user_id               TEXT,
    team_id               TEXT,
    models                TEXT        NOT NULL,
    max_budget            NUMERIC,
    soft_budget           NUMERIC,
    budget_duration       TEXT,
    budget_anchor         TIMESTAMPTZ NOT NULL,
    rpm_limit             INTEGER,
    tpm_limit             BIGINT,
    max_parallel_requests INTEGER,
    metadata              TEXT        NOT NULL,
    tags                  TEXT        NOT NULL,
    blocked               BOOLEAN     NOT NULL,
    expires               TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    created_by            TEXT,
    updated_by            TEXT,
    key_id                TEXT        NOT NULL
);
CREATE INDEX easel_keys_user ON easel_keys (user_id, created_at);
CREATE INDEX easel_keys_team ON easel_keys (team_id, created_at);
