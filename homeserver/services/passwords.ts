/** Password hashing with argon2id. */
import argon2 from 'argon2';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): strong, and a 2-core home server
// can still take a burst of logins without running out of memory.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export class PasswordHasher {
  /** A hash of a random string, verified against when the user does not exist, so a failed
   * login takes as long whether or not the account exists. */
  private decoy: Promise<string> | undefined;

  hash(password: string): Promise<string> {
    return argon2.hash(password, OPTIONS);
  }

  async verify(hash: string | null, password: string): Promise<boolean> {
    if (!hash) {
      this.decoy ??= argon2.hash(`decoy-${Math.random()}`, OPTIONS);
      await argon2.verify(await this.decoy, password).catch(() => false);
      return false;
    }
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }
}
