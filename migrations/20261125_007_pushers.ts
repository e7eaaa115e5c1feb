/** Pushers registered by clients (stored and listed; this server reaches no push gateway). */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pushers', (t) => {
    t.text('user_id').notNullable();
    t.text('app_id').notNullable();
    t.text('pushkey').notNullable();
    t.jsonb('pusher').notNullable();
    t.bigInteger('updated_ts').notNullable();
    t.primary(['user_id', 'app_id', 'pushkey']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('pushers');
}
