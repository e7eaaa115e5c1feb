/**
 * Invites a user never sees: those sent by someone they blocked (spec, "Ignoring users":
 * servers must not send room invites from ignored users). Kept per invitee and room, so the
 * invite stays hidden after an unblock (missed events are not delivered late) and so does the
 * room's later leave; a visible invite or a join in the room ends it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hidden_invites', (t) => {
    t.text('user_id').notNullable();
    t.text('room_id').notNullable();
    t.text('inviter_id').notNullable();
    t.primary(['user_id', 'room_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('hidden_invites');
}
