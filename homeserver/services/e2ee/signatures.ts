/**
 * Ed25519 signatures over signed JSON (spec appendix "Signing JSON"): the object without
 * `signatures` and `unsigned`, in canonical JSON, signed; keys and signatures in unpadded
 * base64. The server checks cross-signing uploads so a client never receives a key whose
 * signature cannot be true.
 */
import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson } from '../rooms/eventFormat.ts';

export type Signed = Record<string, unknown> & { signatures?: Record<string, Record<string, string>> };

/** Unpadded (standard or URL-safe) base64 → bytes; undefined when it is not base64. */
function fromBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]*$/.test(s)) return undefined;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** True when `object` carries a valid signature by `userId`'s key `keyId` (`ed25519:<id>`). */
export function hasValidSignature(object: Signed, userId: string, keyId: string, publicKey: string): boolean {
  const signature = object.signatures?.[userId]?.[keyId];
  if (typeof signature !== 'string') return false;
  const key = fromBase64(publicKey);
  const sig = fromBase64(signature);
  if (!key || key.length !== 32 || !sig || sig.length !== 64) return false;
  const { signatures: _s, unsigned: _u, ...payload } = object;
  try {
    const publicKeyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' });
    return verify(null, Buffer.from(canonicalJson(payload)), publicKeyObject, sig);
  } catch {
    return false;
  }
}

/** The single `ed25519:<public key>` entry of a cross-signing key, as [keyId, publicKey]. */
export function crossSigningPublicKey(key: { keys?: Record<string, unknown> }): [string, string] | undefined {
  const entries = Object.entries(key.keys ?? {});
  if (entries.length !== 1) return undefined;
  const [keyId, value] = entries[0];
  if (!keyId.startsWith('ed25519:') || typeof value !== 'string' || keyId !== `ed25519:${value}`) return undefined;
  return [keyId, value];
}
