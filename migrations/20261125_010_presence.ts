/** Presence: each user's online state, status message and when they were last active and syncing. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('presence', (t) => {
    t.text('user_id').primary();
    t.text('state').notNullable();
    t.text('status_msg');
    t.bigInteger('last_active_ts').notNullable();
    t.bigInteger('last_sync_ts').notNullable();
    t.bigInteger('stream_position').notNullable();
    t.index(['stream_position']);
    t.index(['state', 'last_sync_ts']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('presence');
}
