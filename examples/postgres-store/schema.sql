-- express-passkeys: tables of the PostgreSQL store. Idempotent: safe to run at every start, and it upgrades a schema
-- made by an earlier version of this file (see the end).
-- Unqualified names: `migrate(pool, schema)` runs this with `SET LOCAL search_path` to the target schema; with psql,
-- set the search_path yourself (or run it as is for `public`).
--
-- Ids, identifiers and credential ids are `text`: equality under PostgreSQL's default (deterministic) collations is exact,
-- as base64url needs (it is case-sensitive; no citext, no nondeterministic collation), and a lookup with a malformed id
-- answers "not found" instead of failing a uuid cast.

CREATE TABLE IF NOT EXISTS identities (
  id          text        NOT NULL,
  schema_id   text        NOT NULL,
  traits      jsonb       NOT NULL,
  identifier  text        NOT NULL,
  user_handle text        NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  state            text   NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
  state_changed_at timestamptz,
  metadata_public  jsonb,
  metadata_admin   jsonb,
  CONSTRAINT identities_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS identities_identifier_key ON identities (identifier);
CREATE UNIQUE INDEX IF NOT EXISTS identities_user_handle_key ON identities (user_handle);
-- listIdentities pages in byte order (`ORDER BY id COLLATE "C"`, JavaScript's string order): the primary key's index
-- has the database's collation, so it cannot serve that order unless the database collation is "C" itself. Without
-- this index, every page of the admin list sorts the whole table.
CREATE INDEX IF NOT EXISTS identities_id_c_idx ON identities (id COLLATE "C");

CREATE TABLE IF NOT EXISTS passkeys (
  id              text        NOT NULL,
  identity_id     text        NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  public_key      bytea       NOT NULL,
  sign_count      bigint      NOT NULL CHECK (sign_count >= 0),
  transports      text[]      NOT NULL,
  aaguid          text        NOT NULL,
  name            text        NOT NULL,
  backup_eligible boolean     NOT NULL,
  backed_up       boolean     NOT NULL,
  created_at      timestamptz NOT NULL,
  last_used_at    timestamptz,
  -- An imported passkey whose backup flags are unknown: its next sign-in records them.
  backup_flags_unknown boolean NOT NULL DEFAULT false,
  -- Insertion order: breaks ties between passkeys created in the same millisecond.
  seq             bigint      GENERATED ALWAYS AS IDENTITY,
  CONSTRAINT passkeys_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS passkeys_identity_created_idx ON passkeys (identity_id, created_at);

CREATE TABLE IF NOT EXISTS flows (
  id         text        NOT NULL,
  expires_at timestamptz NOT NULL,
  challenge  text,
  anonymous  boolean     NOT NULL,
  data       jsonb       NOT NULL,
  -- Optimistic version: 1 after the insert, +1 with every saveFlow and every successful consumeChallenge.
  version    bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
  -- The identity the flow belongs to or acts on (no foreign key: deleteIdentity deletes them in its transaction).
  identity_id text,
  CONSTRAINT flows_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS flows_expires_at_idx ON flows (expires_at);

-- Recovery and verifiable addresses: one table per kind, so that a value is unique within its kind (one identity's
-- recovery address may be another's verifiable address). `ord` keeps the order of the identity's list.
CREATE TABLE IF NOT EXISTS recovery_addresses (
  identity_id text        NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  id          text        NOT NULL,
  ord         integer     NOT NULL,
  value       text        NOT NULL,
  via         text        NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  CONSTRAINT recovery_addresses_pkey PRIMARY KEY (identity_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS recovery_addresses_value_key ON recovery_addresses (value);

CREATE TABLE IF NOT EXISTS verifiable_addresses (
  identity_id text        NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  id          text        NOT NULL,
  ord         integer     NOT NULL,
  value       text        NOT NULL,
  via         text        NOT NULL,
  verified    boolean     NOT NULL,
  status      text        NOT NULL CHECK (status IN ('pending', 'sent', 'completed')),
  verified_at timestamptz,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  CONSTRAINT verifiable_addresses_pkey PRIMARY KEY (identity_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS verifiable_addresses_value_key ON verifiable_addresses (value);

-- Limit counters (recovery and verification by code): one row per key and fixed window, counted with one atomic
-- UPSERT (see PostgresStore.incrementCounter), so that every instance of the app shares each limit. Rows whose window
-- has ended are deleted by `sweep()`.
CREATE TABLE IF NOT EXISTS limit_counters (
  key      text        NOT NULL,
  count    bigint      NOT NULL CHECK (count >= 1),
  reset_at timestamptz NOT NULL,
  CONSTRAINT limit_counters_pkey PRIMARY KEY (key)
);
CREATE INDEX IF NOT EXISTS limit_counters_reset_at_idx ON limit_counters (reset_at);

-- Upgrades of a schema made by an earlier version of this file (no-ops on a fresh one). The new tables above are
-- created by their `IF NOT EXISTS`; existing flows start at version 1.
ALTER TABLE flows ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);
-- Identity state and metadata (Kratos's `state`, `metadata_public`, `metadata_admin`): existing identities are active.
ALTER TABLE identities ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'active'
  CHECK (state IN ('active', 'inactive'));
ALTER TABLE identities ADD COLUMN IF NOT EXISTS state_changed_at timestamptz;
ALTER TABLE identities ADD COLUMN IF NOT EXISTS metadata_public jsonb;
ALTER TABLE identities ADD COLUMN IF NOT EXISTS metadata_admin jsonb;
-- Flows know their identity, so that deleting an identity deletes its flows.
ALTER TABLE flows ADD COLUMN IF NOT EXISTS identity_id text;
CREATE INDEX IF NOT EXISTS flows_identity_id_idx ON flows (identity_id) WHERE identity_id IS NOT NULL;
-- Passkeys imported without their backup flags.
ALTER TABLE passkeys ADD COLUMN IF NOT EXISTS backup_flags_unknown boolean NOT NULL DEFAULT false;

-- Session records (express-passkeys issue 15): one row per session a browser cookie or a native token points at.
-- Appended with IF NOT EXISTS, so running this file upgrades a schema made before it. The index serves the keyset
-- pages of listSessions (newest issued_at first, then id) and the revocations of one identity.
CREATE TABLE IF NOT EXISTS sessions (
  id               text        NOT NULL,
  identity_id      text        NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  active           boolean     NOT NULL,
  issued_at        timestamptz NOT NULL,
  authenticated_at timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  aal              text        NOT NULL,
  methods          jsonb       NOT NULL,
  devices          jsonb       NOT NULL,
  CONSTRAINT sessions_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS sessions_identity_issued_idx ON sessions (identity_id, issued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON sessions (expires_at);
