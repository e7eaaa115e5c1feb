/**
 * One event per depth in a room: the room graph is a line, so two events at the same depth
 * are two writers that both linked after the same newest event. Sends of ordinary events do
 * not lock the room in the database; this index is what stops the second of two such
 * writers (in another server process) and sends it back to link after the first.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE UNIQUE INDEX events_room_depth ON events (room_id, depth)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS events_room_depth');
}
