/**
 * Two-factor authentication: one TOTP secret per user (pending until a first code confirms
 * it), the last time step accepted (so a code cannot be used twice), and single-use recovery
 * codes, stored hashed like tokens.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('totp_secrets', (t) => {
    t.text('user_id').primary();
    t.text('secret').notNullable();
    t.bigInteger('created_ts').notNullable();
    // Null while enrolment waits for its first code.
    t.bigInteger('confirmed_ts');
    t.bigInteger('last_time_step').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('recovery_codes', (t) => {
    t.text('user_id').notNullable();
    t.text('code_hash').notNullable();
    t.bigInteger('used_ts');
    t.primary(['user_id', 'code_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('recovery_codes');
  await knex.schema.dropTableIfExists('totp_secrets');
}
