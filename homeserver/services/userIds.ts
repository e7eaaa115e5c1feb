/** The spec's user identifier grammar: @localpart:server_name. */
import { errors } from '../errors.ts';

// Spec (appendix, user identifiers): the localpart of new accounts uses a-z 0-9 . _ = - / +
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const MAX_USER_ID_LENGTH = 255;

export class UserIds {
  readonly serverName: string;
  constructor(serverName: string) {
    this.serverName = serverName;
  }

  make(localpart: string): string {
    return `@${localpart}:${this.serverName}`;
  }

  /** Validates a new account's localpart (already lower-cased by the caller). */
  checkNewLocalpart(localpart: string): void {
    if (localpart.length === 0) throw errors.invalidUsername('Username cannot be empty.');
    if (!LOCALPART.test(localpart)) {
      throw errors.invalidUsername('Usernames may only contain a-z, 0-9, and . _ = - / +');
    }
    if (localpart.startsWith('_')) {
      throw errors.invalidUsername('Usernames may not start with an underscore.');
    }
    if (this.make(localpart).length > MAX_USER_ID_LENGTH) {
      throw errors.invalidUsername(`User IDs may be at most ${MAX_USER_ID_LENGTH} characters.`);
    }
  }

  /**
   * A user named by a client: a full `@local:server` id or a bare localpart. Returns the
   * full id for this server, or undefined when it names another server.
   */
  resolve(input: string): string | undefined {
    if (input.startsWith('@')) {
      const colon = input.indexOf(':');
      if (colon < 0) return undefined;
      if (input.slice(colon + 1) !== this.serverName) return undefined;
      return `@${input.slice(1, colon).toLowerCase()}:${this.serverName}`;
    }
    return this.make(input.toLowerCase());
  }

  isLocal(userId: string): boolean {
    return userId.startsWith('@') && userId.endsWith(`:${this.serverName}`);
  }
}
