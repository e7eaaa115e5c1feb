/**
 * Email addresses (Matrix third-party ids): those bound to accounts, and the validation
 * sessions that prove a user reads an address (for adding it, or for a password reset).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_threepids', (t) => {
    t.text('user_id').notNullable();
    t.text('medium').notNullable();
    t.text('address').notNullable();
    t.bigInteger('validated_ts').notNullable();
    t.bigInteger('added_ts').notNullable();
    t.primary(['medium', 'address']);
    t.index(['user_id']);
  });
  await knex.schema.createTable('threepid_sessions', (t) => {
    t.text('sid').primary();
    t.text('client_secret').notNullable();
    t.text('medium').notNullable();
    t.text('address').notNullable();
    // What the proof is for: 'add' (to the signed-in user) or 'reset' (the password).
    t.text('purpose').notNullable();
    t.text('token_hash').notNullable();
    t.integer('send_attempt').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.bigInteger('validated_ts');
    t.unique(['client_secret', 'address', 'purpose']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('threepid_sessions');
  await knex.schema.dropTableIfExists('user_threepids');
}
