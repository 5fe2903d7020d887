-- The live body of notes: an append-only log of Yjs updates, the snapshots
-- that fold it, and revision points (issue 3).

-- The last sequence number given to each note's updates. Every process that
-- appends takes its numbers here, under the row's lock, so numbers are
-- gap-free per note even with several processes writing.
CREATE TABLE note_heads (
    note_id  text PRIMARY KEY REFERENCES notes ON DELETE CASCADE,
    last_seq bigint NOT NULL
);

CREATE TABLE note_updates (
    note_id    text NOT NULL REFERENCES notes ON DELETE CASCADE,
    seq        bigint NOT NULL,
    data       bytea NOT NULL,
    user_id    text REFERENCES users ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (note_id, seq)
);

-- One snapshot per note: the encoded document holding every update up to
-- and including ``seq``; later updates are in note_updates.
CREATE TABLE note_snapshots (
    note_id    text PRIMARY KEY REFERENCES notes ON DELETE CASCADE,
    seq        bigint NOT NULL,
    state      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE note_revisions (
    id           text PRIMARY KEY,
    note_id      text NOT NULL REFERENCES notes ON DELETE CASCADE,
    seq          bigint NOT NULL,
    state        bytea NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('pause', 'leave', 'finalise', 'publish', 'restore', 'manual')),
    contributors text[] NOT NULL DEFAULT '{}',
    created_by   text REFERENCES users ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX note_revisions_note ON note_revisions (note_id, created_at DESC);
