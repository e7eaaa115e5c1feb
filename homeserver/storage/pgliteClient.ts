/**
 * knex's client for the PGlite child process (pgliteProcess.ts): knex-pglite's dialect, with a
 * pool of sessions instead of its one connection. Statements from several requests are then on
 * their way to the child together, and the child never waits for the server's event loop
 * between one request's statement and the next one's.
 */
import type { Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import type { PgliteProcess, PgliteSession } from './pgliteProcess.ts';

/** Sessions in the pool. More only queue in the child; fewer leave it idle between round trips. */
export const PGLITE_SESSIONS = 4;

type Base = new (config: Knex.Config) => {
  config: Knex.Config & { connection: { process: PgliteProcess } };
};

export class PgliteProcessClient extends (ClientPgLite as unknown as Base) {
  // knex-pglite fixes its pool at one connection; the child serializes sessions itself.
  getPoolSettings(poolConfig: Knex.PoolConfig): Knex.PoolConfig {
    const base = (ClientPgLite as unknown as { prototype: { getPoolSettings(c: Knex.PoolConfig): Knex.PoolConfig } }).prototype;
    return base.getPoolSettings.call(this, { ...poolConfig, min: 0, max: PGLITE_SESSIONS });
  }

  _driver(): void {
    // The sessions come from the process in the connection settings; there is no driver to load.
  }

  async _acquireOnlyConnection(): Promise<PgliteSession> {
    return this.config.connection.process.openSession();
  }

  validateConnection(session: PgliteSession): boolean {
    return this.config.connection.process.isCurrent(session);
  }

  async destroyRawConnection(session: PgliteSession): Promise<void> {
    session.end();
  }
}
