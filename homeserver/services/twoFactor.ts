/**
 * Two-factor authentication with TOTP (RFC 6238, as every authenticator app does it) and ten
 * single-use recovery codes. Enrolment is two steps (a secret, then a first code proving the
 * app has it); a code is good once (the accepted time step only moves forward), and every
 * check counts against a per-account rate limit.
 *
 * TOTP secrets are stored sealed under the server key (SecretBox, AES-256-GCM). Secrets an
 * older server kept in clear are sealed at start-up (`open`), and any that a server of the old
 * version still running beside this one writes meanwhile are sealed when next read. Secrets
 * sealed under another key stop the start (the key was lost or differs between processes): a
 * clear message then, rather than every two-factor sign-in failing later.
 */
import { randomInt } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import { ConfigError, type Config } from '../config.ts';
import { errors, MatrixError } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as store from '../storage/twoFactor.ts';
import type { AuditService, AuditSource } from './audit.ts';
import type { RateLimits } from './rateLimits.ts';
import { SEALED_PREFIX, SecretBox } from './secretBox.ts';
import { hashToken } from './secrets.ts';
import { KEY_FILE } from './serverKey.ts';

export const RECOVERY_CODE_COUNT = 10;
/** One step either side of now: a phone clock a little off, or a code typed as it turned. */
const TOLERANCE_SEC = 30;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export interface TwoFactorStatus {
  enabled: boolean;
  /** Enrolment started, waiting for its first code. */
  pending: boolean;
  recovery_codes_left: number;
}

type Deps = { db: Db; config: Config; rateLimits: RateLimits; audit: AuditService; box: SecretBox };

export class TwoFactorService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly rateLimits: RateLimits;
  private readonly audit: AuditService;
  private readonly box: SecretBox;

  constructor(deps: Deps) {
    this.db = deps.db;
    this.config = deps.config;
    this.rateLimits = deps.rateLimits;
    this.audit = deps.audit;
    this.box = deps.box;
  }

  /** The service once the stored secrets agree with the server key, and none is left in clear. */
  static async open(deps: Deps): Promise<TwoFactorService> {
    const service = new TwoFactorService(deps);
    const foreign = await store.secretUnderOtherKey(deps.db, SEALED_PREFIX, deps.box.ownPrefix);
    if (foreign) {
      const where = deps.config.secretKey ? 'WHISPER_SECRET_KEY' : `the key in ${deps.config.dataDir}/${KEY_FILE}`;
      throw new ConfigError(
        `the database holds two-factor secrets encrypted under another server key (key id ${SecretBox.keyIdOf(foreign.secret)}), ` +
          `not this server's (${where}, key id ${deps.box.keyId}). Give every server process the key the secrets were stored with ` +
          '(set WHISPER_SECRET_KEY to it, or restore the secret.key file of the data dir).',
      );
    }
    for (const row of await store.clearSecrets(deps.db, SEALED_PREFIX)) await service.seal(row.user_id, row.secret);
    return service;
  }

  async isEnabled(userId: string): Promise<boolean> {
    return (await store.getTotp(this.db, userId))?.confirmed_ts != null;
  }

  async status(userId: string): Promise<TwoFactorStatus> {
    const row = await store.getTotp(this.db, userId);
    const enabled = row?.confirmed_ts != null;
    return { enabled, pending: row != null && !enabled, recovery_codes_left: enabled ? await store.countUnusedRecoveryCodes(this.db, userId) : 0 };
  }

  /** Step one: a fresh secret for the authenticator app (as a QR code of the otpauth URI). */
  async enrol(userId: string): Promise<{ secret: string; otpauth_uri: string }> {
    if (await this.isEnabled(userId)) throw errors.invalidParam('Two-factor authentication is already on; turn it off first.');
    const secret = generateSecret();
    await store.putPendingTotp(this.db, userId, this.box.seal(secret, context(userId)), Date.now());
    const issuer = `Whisper (${this.config.serverName})`;
    return { secret, otpauth_uri: generateURI({ issuer, label: userId, secret }) };
  }

  /** Step two: a code from the app turns it on; the recovery codes are shown this once. */
  async confirm(userId: string, code: string, source: AuditSource): Promise<{ recovery_codes: string[] }> {
    await this.rateLimits.consume('codePerAccount', userId);
    const row = await store.getTotp(this.db, userId);
    if (!row || row.confirmed_ts != null) throw errors.invalidParam('No two-factor enrolment is waiting; start one first.');
    const step = await totpStep(await this.secretOf(row), normalise(code), 0);
    if (step === null) throw errors.forbidden('That code is not right. Check the time on your device and try the next code.');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.db.transaction(async (trx) => {
      if (!(await store.confirmTotp(trx, userId, Date.now(), step))) throw errors.invalidParam('Two-factor authentication is already on.');
      await store.replaceRecoveryCodes(trx, userId, codes.map((c) => hashToken(normalise(c))));
      await this.audit.record(trx, userId, '2fa.enable', source);
    });
    return { recovery_codes: codes };
  }

  /**
   * Checks a second factor: a current TOTP code not used before, or an unused recovery code
   * (then spent). Every outcome is audited; false means refused.
   */
  async check(userId: string, rawCode: string, source: AuditSource): Promise<boolean> {
    await this.rateLimits.consume('codePerAccount', userId);
    const row = await store.getTotp(this.db, userId);
    if (!row || row.confirmed_ts == null) return false;
    const code = normalise(rawCode);
    if (/^\d{6}$/.test(code)) {
      const step = await totpStep(await this.secretOf(row), code, row.last_time_step);
      // The conditional update decides between two requests racing with the same code.
      if (step !== null && (await store.advanceTimeStep(this.db, userId, step))) {
        await this.audit.record(this.db, userId, '2fa.used', source, { method: 'totp' });
        return true;
      }
    } else if (code.length === 10 && (await store.useRecoveryCode(this.db, userId, hashToken(code), Date.now()))) {
      const left = await store.countUnusedRecoveryCodes(this.db, userId);
      await this.audit.record(this.db, userId, '2fa.used', source, { method: 'recovery_code', recovery_codes_left: left });
      return true;
    }
    await this.audit.record(this.db, userId, '2fa.failed', source);
    return false;
  }

  /** New recovery codes, the old ones void (after UIA with the second factor). */
  async regenerateRecoveryCodes(userId: string, source: AuditSource): Promise<{ recovery_codes: string[] }> {
    if (!(await this.isEnabled(userId))) throw errors.invalidParam('Two-factor authentication is off.');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.db.transaction(async (trx) => {
      await store.replaceRecoveryCodes(trx, userId, codes.map((c) => hashToken(normalise(c))));
      await this.audit.record(trx, userId, '2fa.recovery_codes_replaced', source);
    });
    return { recovery_codes: codes };
  }

  /**
   * The secret in clear. One stored in clear (by an older server) is sealed now. One that does
   * not open (another key, or altered) fails closed: the code is not checked, and the user is
   * told why rather than that the code was wrong.
   */
  private async secretOf(row: store.TotpRow): Promise<string> {
    if (!SecretBox.isSealed(row.secret)) {
      await this.seal(row.user_id, row.secret);
      return row.secret;
    }
    const secret = this.box.open(row.secret, context(row.user_id));
    if (secret === null) {
      throw new MatrixError(403, 'M_FORBIDDEN', 'Two-factor authentication cannot be checked: this server cannot read the stored secret (it was stored under another server key, or altered). Ask the server administrator.');
    }
    return secret;
  }

  private async seal(userId: string, clear: string): Promise<void> {
    await store.replaceSecret(this.db, userId, clear, this.box.seal(clear, context(userId)));
  }

  /** Turns it off (after UIA with password and code). */
  async disable(userId: string, source: AuditSource): Promise<void> {
    await this.db.transaction(async (trx) => {
      const row = await store.getTotp(trx, userId);
      if (!row) throw errors.invalidParam('Two-factor authentication is off.');
      await store.deleteTotp(trx, userId);
      await this.audit.record(trx, userId, '2fa.disable', source);
    });
  }
}

/** The time step a code belongs to, if it is valid now and later than `after`; else null. */
async function totpStep(secret: string, token: string, after: number): Promise<number | null> {
  const result = await verify({ secret, token, epochTolerance: TOLERANCE_SEC, afterTimeStep: after });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** What a user's sealed secret is bound to: it opens for their row only. */
function context(userId: string): string {
  return `totp:${userId}`;
}

/** Codes as people type them: spaces and dashes ignored, any case. */
function normalise(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

/** 10 characters from an alphabet without look-alikes (0/o, 1/l/i), shown as xxxxx-xxxxx. */
function newRecoveryCode(): string {
  const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}
