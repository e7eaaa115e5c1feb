/**
 * Marks events that others relate to, so responses only look up bundled aggregations
 * (edits, thread summaries) for the few events that have any.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.boolean('has_relations').notNullable().defaultTo(false);
  });
  await knex.raw('UPDATE events SET has_relations = true WHERE event_id IN (SELECT relates_to FROM events WHERE relates_to IS NOT NULL)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.dropColumn('has_relations');
  });
}
