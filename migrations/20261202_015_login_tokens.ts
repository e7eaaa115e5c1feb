/**
 * Login tokens (spec: m.login.token): handed to a client by the server's own login page (the
 * single sign-on flow, which is how apps without a second-factor step sign in to an account
 * that has one), exchanged once for a session within minutes.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_tokens', (t) => {
    t.text('token_hash').primary();
    t.text('user_id').notNullable();
    t.bigInteger('expires_ts').notNullable();
    t.index(['expires_ts']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('login_tokens');
}
