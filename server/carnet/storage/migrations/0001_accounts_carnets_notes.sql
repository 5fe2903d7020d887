-- People, carnets and notes: the data model of the service (issue 2).

CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

-- Only hashes of secrets are stored: a leaked table opens no session.
CREATE TABLE browser_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);

CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users ON DELETE CASCADE,
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 120),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE carnets (
    id            text PRIMARY KEY,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '',
    event_name    text NOT NULL DEFAULT '',
    event_start   date,
    event_end     date,
    event_place   text NOT NULL DEFAULT '',
    visibility    text NOT NULL CHECK (visibility IN ('public', 'private')),
    writing_guide text NOT NULL DEFAULT '',
    categories    text[] NOT NULL DEFAULT '{}',
    created_by    text REFERENCES users ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (event_end IS NULL OR event_start IS NULL OR event_end >= event_start)
);

CREATE TABLE carnet_members (
    carnet_id text NOT NULL REFERENCES carnets ON DELETE CASCADE,
    user_id   text NOT NULL REFERENCES users ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('viewer', 'contributor', 'manager')),
    added_by  text REFERENCES users ON DELETE SET NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (carnet_id, user_id)
);
CREATE INDEX carnet_members_user ON carnet_members (user_id);

CREATE TABLE invitations (
    id          text PRIMARY KEY,
    carnet_id   text NOT NULL REFERENCES carnets ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('viewer', 'contributor', 'manager')),
    created_by  text REFERENCES users ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    max_uses    integer CHECK (max_uses IS NULL OR max_uses > 0),
    uses        integer NOT NULL DEFAULT 0,
    revoked_at  timestamptz
);
CREATE INDEX invitations_carnet ON invitations (carnet_id);

CREATE TABLE notes (
    id           text PRIMARY KEY,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    type         text NOT NULL DEFAULT 'note' CHECK (type IN ('note', 'organisation', 'term')),
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'finalised', 'published')),
    visibility   text NOT NULL CHECK (visibility IN ('public', 'private')),
    licence      text NOT NULL DEFAULT 'CC-BY-4.0',
    created_by   text REFERENCES users ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finalised_at timestamptz,
    published_at timestamptz
);

CREATE TABLE note_authors (
    note_id  text NOT NULL REFERENCES notes ON DELETE CASCADE,
    user_id  text NOT NULL REFERENCES users ON DELETE CASCADE,
    position integer NOT NULL,
    PRIMARY KEY (note_id, user_id)
);
CREATE INDEX note_authors_user ON note_authors (user_id);

CREATE TABLE carnet_notes (
    carnet_id text NOT NULL REFERENCES carnets ON DELETE CASCADE,
    note_id   text NOT NULL REFERENCES notes ON DELETE CASCADE,
    added_by  text REFERENCES users ON DELETE SET NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    category  text,
    position  integer NOT NULL,
    pinned    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (carnet_id, note_id)
);
CREATE INDEX carnet_notes_note ON carnet_notes (note_id);

CREATE TABLE note_links (
    source_id  text NOT NULL REFERENCES notes ON DELETE CASCADE,
    target_id  text NOT NULL REFERENCES notes ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('related', 'organisation', 'term')),
    created_by text REFERENCES users ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, target_id, kind),
    CHECK (source_id <> target_id)
);
CREATE INDEX note_links_target ON note_links (target_id);

CREATE TABLE comments (
    id         text PRIMARY KEY,
    note_id    text NOT NULL REFERENCES notes ON DELETE CASCADE,
    author_id  text REFERENCES users ON DELETE SET NULL,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz,
    deleted_at timestamptz,
    deleted_by text REFERENCES users ON DELETE SET NULL
);
CREATE INDEX comments_note ON comments (note_id, created_at);

-- Failed sign-ins, for rate limiting across every server process.
CREATE TABLE login_failures (
    key        text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (key, failed_at);
