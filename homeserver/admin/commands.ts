/**
 * The admin commands (`npm run admin -- ...`), run against the services: directly when the
 * CLI opens the database itself, or inside a running server via the control socket.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { MatrixError } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { ADMIN_CLI } from '../services/audit.ts';

export const USAGE = `Usage: npm run admin -- <command>

  registration-token create [--uses N] [--expires-in-days D] [--token T]
  registration-token list
  registration-token revoke <token>
  user list
  user create <name> [--admin] [--password P]
  user deactivate <user>
  user reset-password <user> [--password P]
  user make-admin <user> [--revoke]

<user> is @name:server or just name. Without --password the CLI asks for one.`;

/** A mistake in the command line (as opposed to a refusal from the server's rules). */
export class UsageError extends Error {}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The commands that take a password, which the CLI asks for when it is not given. */
export function needsPassword(argv: string[]): boolean {
  const [group, action] = argv;
  return group === 'user' && (action === 'create' || action === 'reset-password') && !argv.some((a) => a === '--password' || a.startsWith('--password='));
}

function parse(argv: string[], options: ParseArgsOptionsConfig, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}`);
  }
  return parsed;
}

function positiveNumber(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number`);
  return n;
}

function userIdOf(s: Services, input: string): string {
  const userId = s.userIds.resolve(input);
  if (!userId) throw new UsageError(`${input} is not a user of this server (${s.config.serverName})`);
  return userId;
}

/** Runs one command; returns the lines to print. Throws UsageError or MatrixError. */
export async function runAdminCommand(s: Services, argv: string[]): Promise<string[]> {
  const [group, action, ...rest] = argv;
  const key = `${group ?? ''} ${action ?? ''}`;
  switch (key) {
    case 'registration-token create': {
      const { values } = parse(rest, { uses: { type: 'string' }, 'expires-in-days': { type: 'string' }, token: { type: 'string' } }, 0);
      const uses = positiveNumber(values.uses, '--uses');
      if (uses !== undefined && !Number.isInteger(uses)) throw new UsageError('--uses must be a whole number');
      const days = positiveNumber(values['expires-in-days'], '--expires-in-days');
      const created = await s.registrationTokens.create({
        token: values.token as string | undefined,
        usesAllowed: uses ?? null,
        expiryTime: days ? Date.now() + days * DAY_MS : null,
        createdBy: 'admin-cli',
      });
      return [
        `Registration token created (uses: ${created.uses_allowed ?? 'unlimited'}, expires: ${created.expiry_time ? new Date(created.expiry_time).toISOString() : 'never'}).`,
        `A friend enters it when registering at ${s.config.publicUrl}`,
        created.token,
      ];
    }
    case 'registration-token list': {
      parse(rest, {}, 0);
      const tokens = await s.registrationTokens.list();
      if (tokens.length === 0) return ['No registration tokens.'];
      return [
        'token\tstate\tused\tpending\tallowed\texpires',
        ...tokens.map((t) =>
          [
            t.token,
            t.revoked ? 'revoked' : s.registrationTokens.isActive(t) ? 'active' : 'used up/expired',
            t.completed,
            t.pending,
            t.uses_allowed ?? 'unlimited',
            t.expiry_time ? new Date(t.expiry_time).toISOString() : 'never',
          ].join('\t'),
        ),
      ];
    }
    case 'registration-token revoke': {
      const { positionals } = parse(rest, {}, 1);
      await s.registrationTokens.revoke(positionals[0]);
      return [`Revoked ${positionals[0]}.`];
    }
    case 'user list': {
      parse(rest, {}, 0);
      const users = await s.accounts.listUsers();
      if (users.length === 0) return ['No users yet.'];
      return [
        'user\tadmin\tstate\tcreated',
        ...users.map((u) => [u.user_id, u.is_admin ? 'admin' : '', u.deactivated ? 'deactivated' : 'active', new Date(u.created_ts).toISOString()].join('\t')),
      ];
    }
    case 'user create': {
      const { values, positionals } = parse(rest, { admin: { type: 'boolean' }, password: { type: 'string' } }, 1);
      if (!values.password) throw new UsageError('a password is required');
      const userId = await s.accounts.createUser(positionals[0], values.password as string, values.admin === true);
      return [`Created ${userId}${values.admin ? ' (admin)' : ''}.`];
    }
    case 'user deactivate': {
      const { positionals } = parse(rest, {}, 1);
      const userId = userIdOf(s, positionals[0]);
      await s.accounts.deactivate(userId, ADMIN_CLI);
      return [`Deactivated ${userId}; all their sessions are signed out.`];
    }
    case 'user reset-password': {
      const { values, positionals } = parse(rest, { password: { type: 'string' } }, 1);
      if (!values.password) throw new UsageError('a password is required');
      const userId = userIdOf(s, positionals[0]);
      await s.accounts.resetPassword(userId, values.password as string);
      return [`New password set for ${userId}; all their sessions are signed out.`];
    }
    case 'user make-admin': {
      const { values, positionals } = parse(rest, { revoke: { type: 'boolean' } }, 1);
      const userId = userIdOf(s, positionals[0]);
      await s.accounts.setAdmin(userId, values.revoke !== true);
      return [values.revoke ? `${userId} is no longer an admin.` : `${userId} is now an admin.`];
    }
    default:
      throw new UsageError(group ? `unknown command: ${argv.slice(0, 2).join(' ')}` : 'no command given');
  }
}

/** A failure as the CLI shows it. */
export function describeFailure(err: unknown): string | undefined {
  if (err instanceof UsageError) return `${err.message}\n\n${USAGE}`;
  if (err instanceof MatrixError) return err.message;
  return undefined;
}
