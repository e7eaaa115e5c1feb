/**
 * Creates a new PGlite database directory, run as a short-lived child process by
 * database.ts. PGlite's initdb runs a second WebAssembly Postgres whose memory a process
 * never gives back (~450 MB resident); doing it in a child keeps the server lean from its
 * first start on.
 *
 *   node homeserver/storage/pgliteInit.ts <dir> <start params as JSON>
 */
import { PGlite } from '@electric-sql/pglite';

const [dir, params] = process.argv.slice(2);
const pglite = await PGlite.create({ dataDir: dir, startParams: JSON.parse(params) as string[] });
await pglite.close();
