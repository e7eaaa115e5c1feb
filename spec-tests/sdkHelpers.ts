/** Helpers for driving matrix-js-sdk clients in tests: polling for a condition, starting a client. */
import { ClientEvent, createClient, type ICreateClientOpts, type MatrixClient } from 'matrix-js-sdk';
import type { TestServer, TestUser } from './harness.ts';

/** Resolves with the first truthy value of `check`, polled every 25 ms; rejects after `ms`. */
export function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = async () => {
      let v: T | undefined | false;
      try {
        v = await check();
      } catch (err) {
        return reject(err);
      }
      if (v) return resolve(v);
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    void tick();
  });
}

/** A client signed in as `user`, its sync loop running and its first sync done. */
export async function startSdk(
  srv: TestServer,
  user: TestUser,
  opts: { crypto?: boolean; clientOpts?: Partial<ICreateClientOpts> } = {},
): Promise<MatrixClient> {
  const client = createClient({ baseUrl: srv.url, accessToken: user.access_token, userId: user.user_id, deviceId: user.device_id, ...opts.clientOpts });
  if (opts.crypto) await client.initRustCrypto({ useIndexedDB: false });
  await client.startClient({ initialSyncLimit: 20, threadSupport: true });
  await new Promise<void>((resolve) => {
    if (client.isInitialSyncComplete()) return resolve();
    client.once(ClientEvent.Sync, () => resolve());
  });
  return client;
}
