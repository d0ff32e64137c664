/**
 * The subscriptions table. A subscription is its subscriber's own setting, not patient data: it is kept apart
 * from the record index, readable only by whoever created it. Its resource, credential and channel headers are
 * sealed with the node's sealing key (AES-256-GCM, bound to the subscription id); in clear are only its id,
 * an opaque owner key (a hash of the caller id), its status and its event count.
 */
import type { Migration } from '@medledger/storage';

export const subscriptionMigrations: Migration[] = [
  {
    name: 'node/subscriptions-001',
    sql: `
CREATE TABLE subscriptions (
  id         text PRIMARY KEY,
  owner      bytea NOT NULL CHECK (octet_length(owner) = 32),
  status     text NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
  events     int8 NOT NULL DEFAULT 0,
  sealed     bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_owner ON subscriptions (owner);
`,
  },
];
