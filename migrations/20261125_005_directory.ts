/** Room aliases, forgotten rooms, and message search. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('room_aliases', (t) => {
    t.text('alias').primary();
    t.text('room_id').notNullable().references('room_id').inTable('rooms');
    t.text('creator').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.index(['room_id']);
  });
  await knex.schema.createTable('room_forgotten', (t) => {
    t.text('user_id').notNullable();
    t.text('room_id').notNullable();
    t.primary(['user_id', 'room_id']);
  });
  // Full text search over message bodies ('simple': no language-specific stemming, since
  // friends write in whatever language they like).
  await knex.raw(`CREATE INDEX events_body_search ON events USING GIN (to_tsvector('simple', coalesce(json->'content'->>'body', ''))) WHERE type = 'm.room.message'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS events_body_search');
  await knex.schema.dropTableIfExists('room_forgotten');
  await knex.schema.dropTableIfExists('room_aliases');
}
