/** The migrations run from empty, roll back to empty, and run again, on both databases. */
import assert from 'node:assert/strict';
import { backends } from '../../spec-tests/harness.ts';
import { migrations } from '../../migrations/index.ts';
import { migrate, migrationSource, openDatabase, rollbackAll } from './database.ts';

for (const backend of backends()) {
  describe(`migrations [${backend.name}]`, function () {
    this.timeout(60_000);
    it('go up from empty, down to empty, and up again', async () => {
      const made = await backend.create();
      const database = await openDatabase({ databaseUrl: made.databaseUrl, dataDir: ':memory:' });
      const db = database.db;
      const tables = ['users', 'devices', 'access_tokens', 'refresh_tokens', 'registration_tokens', 'uia_sessions', 'rate_limits'];
      try {
        for (const t of tables) assert.ok(await db.schema.hasTable(t), `${t} after up`);
        const [done] = await db.migrate.list({ migrationSource });
        assert.equal(done.length, migrations.length);
        await rollbackAll(db);
        for (const t of tables) assert.ok(!(await db.schema.hasTable(t)), `${t} after down`);
        await migrate(db);
        for (const t of tables) assert.ok(await db.schema.hasTable(t), `${t} after up again`);
      } finally {
        await database.close();
        await made.drop();
      }
    });
  });
}
