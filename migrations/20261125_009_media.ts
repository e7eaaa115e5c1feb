/**
 * The media repository: one row per mxc:// id (uploaded, or created and still pending) and
 * one per cached thumbnail. The bytes live on disk, addressed by their SHA-256.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('media', (t) => {
    t.text('media_id').primary();
    t.text('user_id').notNullable();
    // Null until the bytes arrive (an id made by POST /media/v1/create).
    t.text('content_type');
    t.text('upload_name');
    t.bigInteger('size');
    t.text('sha256');
    t.bigInteger('created_ts').notNullable();
    t.bigInteger('uploaded_ts');
    // When a pending id stops being usable; null once uploaded.
    t.bigInteger('expires_ts');
    t.index(['user_id', 'uploaded_ts']);
  });

  // Keyed by content, not media id: identical uploads share their thumbnails.
  await knex.schema.createTable('media_thumbnails', (t) => {
    t.text('sha256').notNullable();
    t.integer('width').notNullable();
    t.integer('height').notNullable();
    t.text('method').notNullable();
    t.boolean('animated').notNullable();
    t.text('content_type').notNullable();
    t.bigInteger('size').notNullable();
    t.text('file_name').notNullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['sha256', 'width', 'height', 'method', 'animated']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('media_thumbnails');
  await knex.schema.dropTableIfExists('media');
}
