/**
 * The worker thread PGliteThread (pgliteThread.ts) runs PGlite on: opens the database, runs
 * statements in the order they come (PGlite queues them itself), forwards notifications.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { serializeError, type FromWorker, type PGliteThreadOptions, type ToWorker } from './pgliteThread.ts';

const port = parentPort!;
const opts = workerData as PGliteThreadOptions;
const send = (msg: FromWorker) => port.postMessage(msg);

/**
 * PGlite calls the listeners in one synchronous pass as a statement's notifications arrive;
 * they go to the main thread as one message, ahead of the statement's result.
 */
let batch: Array<{ channel: string; payload: string }> = [];
const notified = (channel: string, payload: string) => {
  if (batch.length === 0) {
    queueMicrotask(() => {
      send({ type: 'notify', notices: batch });
      batch = [];
    });
  }
  batch.push({ channel, payload });
};

try {
  const pglite = await PGlite.create({ dataDir: opts.dataDir, startParams: opts.startParams });
  port.on('message', (msg: ToWorker) => {
    const answer = async (): Promise<unknown> => {
      if (msg.type === 'query') return pglite.query(msg.sql, msg.params, msg.options as Parameters<PGlite['query']>[2]);
      if (msg.type === 'listen') {
        await pglite.listen(msg.channel, (payload) => notified(msg.channel, payload));
        return null;
      }
      await pglite.close();
      return null;
    };
    answer().then(
      (result) => send({ type: 'result', id: msg.id, result }),
      (err: unknown) => send({ type: 'error', id: msg.id, error: serializeError(err) }),
    );
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', error: serializeError(err) });
}
