/**
 * The audit log: one row per act on an account, appended in the same transaction as the act.
 * Rows are never changed: a trigger refuses UPDATE, so even a bug cannot rewrite history;
 * only the retention sweep deletes (whole rows, oldest first).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    // The account the entry is about; null for a failed sign-in to a name nobody has.
    t.text('user_id');
    t.text('kind').notNullable();
    t.bigInteger('ts').notNullable();
    // Who acted when it was not the account itself: an admin's user id, or "admin-cli".
    t.text('actor');
    t.text('ip');
    t.text('user_agent');
    t.text('device_id');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['user_id', 'id']);
    t.index(['ts']);
  });
  await knex.raw(`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$`);
  await knex.raw('CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_log');
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_append_only()');
}
