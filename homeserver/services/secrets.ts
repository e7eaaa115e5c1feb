/** Random tokens and identifiers, and the one-way hash tokens are stored under. */
import { hash, randomBytes, randomInt } from 'node:crypto';

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

/**
 * Tokens are high-entropy, so a fast hash suffices (no salt or KDF needed, unlike passwords).
 * One-shot `hash`: every authenticated request hashes its token, and a Hash object per call
 * cost several times more than the digest itself.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function randomDeviceId(length = 10): string {
  let id = '';
  for (let i = 0; i < length; i++) id += DEVICE_ALPHABET[randomInt(DEVICE_ALPHABET.length)];
  return id;
}

/** Registration tokens: unambiguous characters, easy to read out to a friend. */
export function randomRegistrationToken(length = 16): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}
