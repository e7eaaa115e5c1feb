/**
 * `npm run admin -- <command>`: administers the server's database. With DATABASE_URL it
 * opens PostgreSQL itself; with the embedded database it opens the data dir, or, when a
 * running server holds it, sends the command to that server (admin/controlSocket.ts).
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { describeFailure, needsPassword, runAdminCommand, USAGE } from '../admin/commands.ts';
import { sendControlCommand } from '../admin/controlSocket.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { buildServices } from '../main.ts';
import { DataDirLockedError, openDatabase } from '../storage/database.ts';

/** Asks for a password without echoing it on a terminal; reads a line from a pipe. */
async function askPassword(): Promise<string> {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? muted : undefined, terminal: process.stdin.isTTY });
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return line;
}

async function run(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    console.log(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if (needsPassword(argv)) {
    const password = await askPassword();
    if (!password) {
      console.error('error: no password given');
      return 2;
    }
    argv = [...argv, '--password', password];
  }
  const config = loadConfig();

  let database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    const reply = await sendControlCommand(config.dataDir, argv).catch((e: Error) => {
      throw new Error(`the data dir is locked by a server that does not answer on its admin socket (${e.message})`);
    });
    if (reply.ok) console.log(reply.lines.join('\n'));
    else console.error(`error: ${reply.lines.join('\n')}`);
    return reply.ok ? 0 : 1;
  }
  try {
    const services = await buildServices(config, database);
    const lines = await runAdminCommand(services, argv);
    console.log(lines.join('\n'));
    return 0;
  } catch (err) {
    const message = describeFailure(err);
    if (!message) throw err;
    console.error(`error: ${message}`);
    return 1;
  } finally {
    await database.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError) console.error(`error: ${err.message}`);
    else console.error('error:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
