/**
 * Rooms, events and the stream positions sync reads. Without federation the room graph is
 * a line: every event has a global stream_ordering (allocated under the stream's row lock,
 * so positions commit in order), and a room's state at any position is the latest state
 * event per (type, state_key) at or below it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One row per stream. Writers allocate with UPDATE ... RETURNING, holding the row lock
  // until commit, so a reader that sees position N knows everything ≤ N has committed.
  await knex.schema.createTable('stream_positions', (t) => {
    t.text('stream').primary();
    t.bigInteger('position').notNullable().defaultTo(0);
  });
  await knex('stream_positions').insert([{ stream: 'events', position: 0 }]);

  await knex.schema.createTable('rooms', (t) => {
    t.text('room_id').primary();
    t.text('room_version').notNullable();
    t.text('creator').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.boolean('published').notNullable().defaultTo(false);
  });

  await knex.schema.createTable('events', (t) => {
    t.bigInteger('stream_ordering').primary();
    t.text('event_id').notNullable().unique();
    t.text('room_id').notNullable().references('room_id').inTable('rooms');
    t.text('type').notNullable();
    t.text('state_key');
    t.text('sender').notNullable();
    t.bigInteger('origin_server_ts').notNullable();
    t.bigInteger('depth').notNullable();
    // The PDU as clients see it (no unsigned); replaced by the redacted form on redaction.
    t.jsonb('json').notNullable();
    t.text('redacted_by');
    // For unsigned.transaction_id, shown only to the sending device.
    t.text('txn_device_id');
    t.text('txn_id');
    t.text('membership');
    // The state event this one replaced (for unsigned.prev_content).
    t.text('replaces_state');
    t.index(['room_id', 'stream_ordering']);
    t.index(['room_id', 'type', 'state_key', 'stream_ordering']);
  });

  await knex.schema.createTable('current_state', (t) => {
    t.text('room_id').notNullable();
    t.text('type').notNullable();
    t.text('state_key').notNullable();
    t.text('event_id').notNullable();
    t.bigInteger('stream_ordering').notNullable();
    t.text('membership');
    t.primary(['room_id', 'type', 'state_key']);
    t.index(['state_key', 'type']);
  });

  await knex.schema.createTable('filters', (t) => {
    t.text('user_id').notNullable();
    t.bigIncrements('filter_id');
    t.jsonb('filter').notNullable();
    t.index(['user_id']);
  });

  // Idempotent sends: the same device and txnId always give the same event.
  await knex.schema.createTable('event_txns', (t) => {
    t.text('user_id').notNullable();
    t.text('device_id').notNullable();
    t.text('txn_id').notNullable();
    t.text('event_id').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['user_id', 'device_id', 'txn_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['event_txns', 'filters', 'current_state', 'events', 'rooms', 'stream_positions']) {
    await knex.schema.dropTableIfExists(table);
  }
}
