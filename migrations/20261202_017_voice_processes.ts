/**
 * Voice across several server processes on one database: the Janus room each voice channel
 * uses (so every process puts its clients in the same one), the processes serving calls with
 * a lease each renews, and which process serves which call state entry (so a process ends only
 * the calls of processes whose lease ran out, never those another live process serves).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('voice_janus_rooms', (t) => {
    t.text('room_id').primary();
    t.bigInteger('janus_room').notNullable();
    // Janus's room pin (to join) and secret (to edit or destroy): never sent to clients or logs.
    t.text('pin').notNullable();
    t.text('secret').notNullable();
    t.bigInteger('created_ts').notNullable();
  });
  await knex.schema.createTable('voice_leases', (t) => {
    t.text('process_id').primary();
    t.bigInteger('expires_ts').notNullable();
  });
  await knex.schema.createTable('voice_call_owners', (t) => {
    t.text('room_id').notNullable();
    // The call state entry served: org.whisper.voice.member or org.whisper.stream, and its key.
    t.text('type').notNullable();
    t.text('state_key').notNullable();
    t.text('process_id').notNullable();
    t.primary(['room_id', 'type', 'state_key', 'process_id']);
    t.index(['process_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('voice_call_owners');
  await knex.schema.dropTableIfExists('voice_leases');
  await knex.schema.dropTableIfExists('voice_janus_rooms');
}
