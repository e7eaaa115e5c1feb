/**
 * End-to-end encryption relay: device and one-time keys, cross-signing keys and signatures,
 * to-device messages, device-list changes, and server-side key backup. The server stores
 * public keys and opaque ciphertext only. Also the stream rows for to-device, device lists
 * and presence, so sync tokens cover them from the start.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('stream_positions').insert([
    { stream: 'to_device', position: 0 },
    { stream: 'device_lists', position: 0 },
    { stream: 'presence', position: 0 },
  ]);

  const deviceKeyed = (t: Knex.CreateTableBuilder) => {
    t.text('user_id').notNullable();
    t.text('device_id').notNullable();
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
  };

  await knex.schema.createTable('device_keys', (t) => {
    deviceKeyed(t);
    t.jsonb('keys').notNullable();
    t.primary(['user_id', 'device_id']);
  });

  await knex.schema.createTable('one_time_keys', (t) => {
    deviceKeyed(t);
    t.text('algorithm').notNullable();
    t.text('key_id').notNullable();
    t.jsonb('key').notNullable();
    t.primary(['user_id', 'device_id', 'algorithm', 'key_id']);
  });

  // One fallback key per algorithm; `used` once claimed (it stays claimable until replaced).
  await knex.schema.createTable('fallback_keys', (t) => {
    deviceKeyed(t);
    t.text('algorithm').notNullable();
    t.text('key_id').notNullable();
    t.jsonb('key').notNullable();
    t.boolean('used').notNullable().defaultTo(false);
    t.primary(['user_id', 'device_id', 'algorithm']);
  });

  // key_type: master, self_signing, user_signing. `keys` is the uploaded CrossSigningKey.
  await knex.schema.createTable('cross_signing_keys', (t) => {
    t.text('user_id').notNullable();
    t.text('key_type').notNullable();
    t.text('public_key').notNullable();
    t.jsonb('keys').notNullable();
    t.primary(['user_id', 'key_type']);
  });

  // Signatures uploaded separately (/keys/signatures/upload): target key ← signer key.
  await knex.schema.createTable('key_signatures', (t) => {
    t.text('target_user_id').notNullable();
    t.text('target_key_id').notNullable();
    t.text('signer_user_id').notNullable();
    t.text('signer_key_id').notNullable();
    t.text('signature').notNullable();
    t.primary(['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id']);
  });

  // The newest position at which each user's devices or keys changed.
  await knex.schema.createTable('device_list_changes', (t) => {
    t.text('user_id').primary();
    t.bigInteger('stream_position').notNullable();
    t.index(['stream_position']);
  });

  // Pending to-device messages, deleted once the device's next sync acknowledges them.
  await knex.schema.createTable('to_device_messages', (t) => {
    t.bigInteger('stream_position').notNullable();
    deviceKeyed(t);
    t.text('sender').notNullable();
    t.text('type').notNullable();
    t.jsonb('content').notNullable();
    t.primary(['user_id', 'device_id', 'stream_position']);
  });

  // Transaction ids of sendToDevice, so a retried PUT delivers nothing twice.
  await knex.schema.createTable('to_device_txns', (t) => {
    t.text('user_id').notNullable();
    t.text('device_id').notNullable();
    t.text('txn_id').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['user_id', 'device_id', 'txn_id']);
    t.index(['created_ts']);
  });

  await knex.schema.createTable('room_key_backup_versions', (t) => {
    t.text('user_id').notNullable();
    t.bigInteger('version').notNullable();
    t.text('algorithm').notNullable();
    t.jsonb('auth_data').notNullable();
    t.bigInteger('etag').notNullable().defaultTo(0);
    t.boolean('deleted').notNullable().defaultTo(false);
    t.primary(['user_id', 'version']);
  });

  await knex.schema.createTable('room_keys', (t) => {
    t.text('user_id').notNullable();
    t.bigInteger('version').notNullable();
    t.text('room_id').notNullable();
    t.text('session_id').notNullable();
    t.integer('first_message_index').notNullable();
    t.integer('forwarded_count').notNullable();
    t.boolean('is_verified').notNullable();
    t.jsonb('session_data').notNullable();
    t.primary(['user_id', 'version', 'room_id', 'session_id']);
    t.foreign(['user_id', 'version']).references(['user_id', 'version']).inTable('room_key_backup_versions').onDelete('CASCADE');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'room_keys', 'room_key_backup_versions', 'to_device_txns', 'to_device_messages', 'device_list_changes',
    'key_signatures', 'cross_signing_keys', 'fallback_keys', 'one_time_keys', 'device_keys',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex('stream_positions').whereIn('stream', ['to_device', 'device_lists', 'presence']).delete();
}
