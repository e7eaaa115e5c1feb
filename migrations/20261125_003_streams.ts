/**
 * The per-user and per-room streams besides events: account data, receipts, typing, and
 * the push actions that make unread counts. Each has a row in stream_positions, allocated
 * under its row lock like events, so readers never skip a write.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('stream_positions').insert([
    { stream: 'account_data', position: 0 },
    { stream: 'receipts', position: 0 },
    { stream: 'typing', position: 0 },
  ]);

  // room_id '' holds global account data.
  await knex.schema.createTable('account_data', (t) => {
    t.text('user_id').notNullable();
    t.text('room_id').notNullable();
    t.text('type').notNullable();
    t.jsonb('content').notNullable();
    t.bigInteger('stream_position').notNullable();
    t.primary(['user_id', 'room_id', 'type']);
    t.index(['user_id', 'stream_position']);
  });

  // thread_id '' is an unthreaded receipt, 'main' the main timeline, else a thread root.
  await knex.schema.createTable('receipts', (t) => {
    t.text('room_id').notNullable();
    t.text('user_id').notNullable();
    t.text('receipt_type').notNullable();
    t.text('thread_id').notNullable();
    t.text('event_id').notNullable();
    t.bigInteger('event_stream_ordering').notNullable();
    t.bigInteger('ts').notNullable();
    t.bigInteger('stream_position').notNullable();
    t.primary(['room_id', 'user_id', 'receipt_type', 'thread_id']);
    t.index(['room_id', 'stream_position']);
  });

  await knex.schema.createTable('typing', (t) => {
    t.text('room_id').notNullable();
    t.text('user_id').notNullable();
    t.bigInteger('expires_ts').notNullable();
    t.primary(['room_id', 'user_id']);
  });
  // Typing changes per room: which rooms to show a fresh m.typing for.
  await knex.schema.createTable('typing_changes', (t) => {
    t.text('room_id').primary();
    t.bigInteger('stream_position').notNullable();
    t.index(['stream_position']);
  });

  await knex.schema.createTable('push_rules', (t) => {
    t.text('user_id').primary();
    t.jsonb('rules').notNullable();
  });

  // What push-rule evaluation decided for each recipient of each event, at send time.
  await knex.schema.createTable('event_push_actions', (t) => {
    t.text('user_id').notNullable();
    t.text('room_id').notNullable();
    t.text('event_id').notNullable();
    t.bigInteger('stream_ordering').notNullable();
    t.text('thread_id').notNullable();
    t.boolean('notify').notNullable();
    t.boolean('highlight').notNullable();
    t.jsonb('actions').notNullable();
    t.bigInteger('ts').notNullable();
    t.primary(['user_id', 'event_id']);
    t.index(['user_id', 'room_id', 'stream_ordering']);
    t.index(['user_id', 'stream_ordering']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['event_push_actions', 'push_rules', 'typing_changes', 'typing', 'receipts', 'account_data']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex('stream_positions').whereIn('stream', ['account_data', 'receipts', 'typing']).delete();
}
