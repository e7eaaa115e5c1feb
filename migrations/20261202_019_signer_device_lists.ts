/**
 * Device-list news for one user only: when someone signs another user's master key with their
 * user-signing key, that signature is shown to the signer alone (keys/query), so only the
 * signer's devices must re-query the target, to see the identity they just verified.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('device_list_signer_changes', (t) => {
    t.text('signer_user_id').notNullable();
    t.text('target_user_id').notNullable();
    t.bigInteger('stream_position').notNullable();
    t.primary(['signer_user_id', 'target_user_id']);
    t.index(['signer_user_id', 'stream_position']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('device_list_signer_changes');
}
