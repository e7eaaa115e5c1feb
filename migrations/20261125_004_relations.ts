/** Event relations (edits, replies' threads, reactions, references), indexed for /relations and bundling. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.text('relates_to');
    t.text('rel_type');
    t.text('aggregation_key');
    t.index(['relates_to', 'rel_type', 'stream_ordering']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['relates_to', 'rel_type', 'stream_ordering']);
    t.dropColumn('relates_to');
    t.dropColumn('rel_type');
    t.dropColumn('aggregation_key');
  });
}
