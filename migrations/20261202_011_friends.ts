/**
 * Friends, blocks, privacy settings and the friend notifications feed. Pairs are stored once
 * per direction where both sides read them (friendships), once where direction matters
 * (requests, blocks).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('friendships', (t) => {
    t.text('user_id').notNullable();
    t.text('friend_id').notNullable();
    t.text('room_id');
    t.bigInteger('since_ts').notNullable();
    t.primary(['user_id', 'friend_id']);
  });
  await knex.schema.createTable('friend_requests', (t) => {
    t.text('requester_id').notNullable();
    t.text('target_id').notNullable();
    t.text('room_id').notNullable();
    t.bigInteger('sent_ts').notNullable();
    // Sent to someone who blocked the requester: the requester sees it, the target never does.
    t.boolean('hidden').notNullable().defaultTo(false);
    t.primary(['requester_id', 'target_id']);
    t.index(['target_id']);
    t.index(['room_id']);
  });
  await knex.schema.createTable('user_blocks', (t) => {
    t.text('user_id').notNullable();
    t.text('blocked_id').notNullable();
    t.bigInteger('since_ts').notNullable();
    t.primary(['user_id', 'blocked_id']);
    t.index(['blocked_id']);
  });
  await knex.schema.createTable('privacy_settings', (t) => {
    t.text('user_id').primary();
    t.text('dm_from').notNullable();
    t.text('group_invites_from').notNullable();
  });
  await knex.schema.createTable('friend_notifications', (t) => {
    t.bigIncrements('id').primary();
    t.text('user_id').notNullable();
    t.text('kind').notNullable();
    t.text('other_user_id').notNullable();
    t.text('room_id');
    t.bigInteger('ts').notNullable();
    t.boolean('read').notNullable().defaultTo(false);
    t.index(['user_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['friend_notifications', 'privacy_settings', 'user_blocks', 'friend_requests', 'friendships']) {
    await knex.schema.dropTableIfExists(table);
  }
}
