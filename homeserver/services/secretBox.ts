/**
 * Encryption at rest under the server key: AES-256-GCM (node:crypto) with a fresh 96-bit IV
 * per value, and the value's place (e.g. `totp:@alice:example.org`) as additional data, so a
 * sealed value copied into another row does not open. A sealed value names the key it was
 * sealed under (a short HMAC of the key, which reveals nothing of it), so a server given the
 * wrong key can say so instead of failing on every read.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'enc1';
/** Every sealed value starts with this. */
export const SEALED_PREFIX = `${PREFIX}.`;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  /** Identifies the key in sealed values (8 base64url characters). */
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('AES-256 needs a 32-byte key');
    this.key = key;
    this.keyId = createHmac('sha256', key).update('whisper key id').digest().subarray(0, 6).toString('base64url');
  }

  /** Whether a stored value is sealed (else it is a value kept in clear by an older server). */
  static isSealed(value: string): boolean {
    return value.startsWith(SEALED_PREFIX);
  }

  /** What every value sealed under this key starts with. */
  get ownPrefix(): string {
    return `${SEALED_PREFIX}${this.keyId}.`;
  }

  /** The id of the key a sealed value was sealed under. */
  static keyIdOf(sealed: string): string | undefined {
    return SecretBox.isSealed(sealed) ? sealed.split('.')[1] : undefined;
  }

  /** `enc1.<key id>.<iv>.<ciphertext and tag>`, base64url. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [PREFIX, this.keyId, iv.toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The value, or null when it was sealed under another key, for another place, or altered. */
  open(sealed: string, context: string): string | null {
    const [prefix, keyId, iv, body] = sealed.split('.');
    if (prefix !== PREFIX || keyId !== this.keyId || !iv || !body) return null;
    const data = Buffer.from(body, 'base64url');
    if (data.length < TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
