/** Accounts, devices (= sessions), tokens, registration tokens, user-interactive auth. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('user_id').primary();
    t.text('localpart').notNullable().unique();
    t.text('password_hash');
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.boolean('deactivated').notNullable().defaultTo(false);
    t.bigInteger('created_ts').notNullable();
    t.text('displayname');
    t.text('avatar_url');
  });

  await knex.schema.createTable('devices', (t) => {
    t.text('user_id').notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.text('device_id').notNullable();
    t.text('display_name');
    t.bigInteger('created_ts').notNullable();
    t.bigInteger('last_seen_ts');
    t.text('last_seen_ip');
    t.text('last_seen_user_agent');
    t.primary(['user_id', 'device_id']);
  });

  await knex.schema.createTable('refresh_tokens', (t) => {
    t.bigIncrements('id');
    t.text('token_hash').notNullable().unique();
    t.text('user_id').notNullable();
    t.text('device_id').notNullable();
    t.bigInteger('created_ts').notNullable();
    // The token this one was exchanged for; while that successor is unused the exchange may
    // be retried (a lost response), once it is used this token is spent.
    t.bigInteger('next_id');
    t.boolean('spent').notNullable().defaultTo(false);
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
  });

  await knex.schema.createTable('access_tokens', (t) => {
    t.bigIncrements('id');
    t.text('token_hash').notNullable().unique();
    t.text('user_id').notNullable();
    t.text('device_id').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.bigInteger('expires_ts');
    // Issued together with this refresh token (null for non-expiring tokens).
    t.bigInteger('refresh_token_id').references('id').inTable('refresh_tokens').onDelete('CASCADE');
    // First use of a refreshed token spends the refresh token that produced it.
    t.boolean('used').notNullable().defaultTo(false);
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
    t.index(['user_id', 'device_id']);
  });

  await knex.schema.createTable('registration_tokens', (t) => {
    t.text('token').primary();
    t.integer('uses_allowed');
    t.integer('completed').notNullable().defaultTo(0);
    t.bigInteger('expiry_time');
    t.bigInteger('created_ts').notNullable();
    t.text('created_by');
    t.boolean('revoked').notNullable().defaultTo(false);
  });

  await knex.schema.createTable('uia_sessions', (t) => {
    t.text('session_id').primary();
    t.text('purpose').notNullable();
    t.text('user_id');
    t.specificType('completed', 'text[]').notNullable().defaultTo('{}');
    // Holding a registration token reserves one of its uses until the session ends.
    t.text('registration_token').references('token').inTable('registration_tokens').onDelete('SET NULL');
    t.bigInteger('created_ts').notNullable();
    t.index(['registration_token']);
  });

  // rate-limiter-flexible's PostgreSQL store (used when several processes share a database).
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['rate_limits', 'uia_sessions', 'registration_tokens', 'access_tokens', 'refresh_tokens', 'devices', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
