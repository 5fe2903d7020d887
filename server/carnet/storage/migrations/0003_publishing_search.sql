-- Publishing and finding (issue 5): frozen published versions, the search
-- index, and in-app notifications.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The version readers see at /n/{note_id}: one per note, replaced by each
-- publication, withdrawn (not deleted) by unpublishing. The body is the
-- revision recorded when publishing; title, type, licence, authors and links
-- are frozen beside it, so a reopened note's draft never shows through.
CREATE TABLE note_publications (
    note_id            text PRIMARY KEY REFERENCES notes ON DELETE CASCADE,
    revision_id        text NOT NULL REFERENCES note_revisions ON DELETE CASCADE,
    version            integer NOT NULL DEFAULT 1,
    title              text NOT NULL,
    type               text NOT NULL,
    licence            text NOT NULL,
    authors            jsonb NOT NULL DEFAULT '[]',
    links              jsonb NOT NULL DEFAULT '[]',
    summary            text NOT NULL DEFAULT '',
    first_published_at timestamptz NOT NULL DEFAULT now(),
    published_at       timestamptz NOT NULL DEFAULT now(),
    published_by       text REFERENCES users ON DELETE SET NULL,
    withdrawn_at       timestamptz,
    withdrawn_by       text REFERENCES users ON DELETE SET NULL
);
CREATE INDEX note_publications_current ON note_publications (published_at DESC)
    WHERE withdrawn_at IS NULL;

-- Every publication of a note, for "Historique des modifications".
CREATE TABLE note_publication_history (
    note_id      text NOT NULL REFERENCES notes ON DELETE CASCADE,
    version      integer NOT NULL,
    revision_id  text NOT NULL REFERENCES note_revisions ON DELETE CASCADE,
    title        text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text REFERENCES users ON DELETE SET NULL,
    PRIMARY KEY (note_id, version)
);

-- Search ------------------------------------------------------------------------

-- unaccent() is only STABLE; with its dictionary named it may be declared
-- IMMUTABLE, which generated columns and indexes need.
CREATE FUNCTION carnet_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE TEXT SEARCH CONFIGURATION carnet_fr (COPY = pg_catalog.french);
ALTER TEXT SEARCH CONFIGURATION carnet_fr
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, french_stem;
CREATE TEXT SEARCH CONFIGURATION carnet_en (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION carnet_en
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, english_stem;

-- One row per note and version: 'live' (the current text, for the people who
-- may open the note) and 'published' (the frozen text, for everyone else).
-- A background task keeps 'live' rows in step with the update log; triggers
-- below bump ``gen`` when metadata the index holds changes.
CREATE TABLE note_search (
    note_id    text NOT NULL REFERENCES notes ON DELETE CASCADE,
    version    text NOT NULL CHECK (version IN ('live', 'published')),
    type       text NOT NULL,
    title      text NOT NULL,
    meta       text NOT NULL DEFAULT '',
    body       text NOT NULL DEFAULT '',
    seq        bigint NOT NULL DEFAULT 0,
    gen        bigint NOT NULL DEFAULT 0,
    seen_gen   bigint NOT NULL DEFAULT 0,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    fr tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('carnet_fr'::regconfig, title), 'A')
        || setweight(to_tsvector('carnet_fr'::regconfig, meta), 'B')
        || setweight(to_tsvector('carnet_fr'::regconfig, body), 'D')) STORED,
    en tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('carnet_en'::regconfig, title), 'A')
        || setweight(to_tsvector('carnet_en'::regconfig, meta), 'B')
        || setweight(to_tsvector('carnet_en'::regconfig, body), 'D')) STORED,
    plain text GENERATED ALWAYS AS (
        carnet_unaccent(lower(title || ' ' || meta || ' ' || body))) STORED,
    PRIMARY KEY (note_id, version)
);
CREATE INDEX note_search_fr ON note_search USING gin (fr);
CREATE INDEX note_search_en ON note_search USING gin (en);
CREATE INDEX note_search_plain ON note_search USING gin (plain gin_trgm_ops);
CREATE INDEX note_search_stale ON note_search (note_id) WHERE gen > seen_gen;

CREATE FUNCTION carnet_search_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'notes' THEN
        UPDATE note_search SET gen = gen + 1 WHERE note_id = NEW.id AND version = 'live';
    ELSIF TG_TABLE_NAME IN ('note_authors', 'carnet_notes') THEN
        UPDATE note_search SET gen = gen + 1
         WHERE note_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.note_id ELSE NEW.note_id END);
        IF TG_OP = 'UPDATE' AND OLD.note_id <> NEW.note_id THEN
            UPDATE note_search SET gen = gen + 1 WHERE note_id = OLD.note_id;
        END IF;
    ELSIF TG_TABLE_NAME = 'carnets' THEN
        UPDATE note_search SET gen = gen + 1
         WHERE note_id IN (SELECT note_id FROM carnet_notes WHERE carnet_id = NEW.id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        UPDATE note_search SET gen = gen + 1
         WHERE note_id IN (SELECT note_id FROM note_authors WHERE user_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notes_search_touch AFTER UPDATE OF title, type ON notes
    FOR EACH ROW EXECUTE FUNCTION carnet_search_touch();
CREATE TRIGGER note_authors_search_touch AFTER INSERT OR UPDATE OR DELETE ON note_authors
    FOR EACH ROW EXECUTE FUNCTION carnet_search_touch();
CREATE TRIGGER carnet_notes_search_touch AFTER INSERT OR UPDATE OR DELETE ON carnet_notes
    FOR EACH ROW EXECUTE FUNCTION carnet_search_touch();
CREATE TRIGGER carnets_search_touch
    AFTER UPDATE OF title, event_name, event_place, visibility ON carnets
    FOR EACH ROW EXECUTE FUNCTION carnet_search_touch();
CREATE TRIGGER users_search_touch AFTER UPDATE OF display_name ON users
    FOR EACH ROW EXECUTE FUNCTION carnet_search_touch();

-- Notifications -----------------------------------------------------------------

CREATE TABLE notifications (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('comment', 'finalised', 'published')),
    note_id    text NOT NULL REFERENCES notes ON DELETE CASCADE,
    actor_id   text REFERENCES users ON DELETE SET NULL,
    comment_id text REFERENCES comments ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- Notes published before this migration: their last 'publish' revision becomes
-- their published version (the search indexer then indexes it).
INSERT INTO note_publications
       (note_id, revision_id, title, type, licence, authors, links,
        first_published_at, published_at)
SELECT n.id, r.id, n.title, n.type, n.licence,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.display_name)
                                  ORDER BY a.position)
                   FROM note_authors a JOIN users u ON u.id = a.user_id
                  WHERE a.note_id = n.id), '[]'),
       coalesce((SELECT jsonb_agg(jsonb_build_array(l.target_id, l.kind)
                                  ORDER BY l.created_at, l.target_id)
                   FROM note_links l WHERE l.source_id = n.id), '[]'),
       coalesce(n.published_at, r.created_at), coalesce(n.published_at, r.created_at)
  FROM notes n
  JOIN LATERAL (SELECT id, created_at FROM note_revisions
                 WHERE note_id = n.id AND reason = 'publish'
                 ORDER BY created_at DESC LIMIT 1) r ON true
 WHERE n.status = 'published';
INSERT INTO note_publication_history (note_id, version, revision_id, title, published_at)
SELECT note_id, version, revision_id, title, published_at FROM note_publications;
