/** Cross-signing keys (master, self-signing, user-signing) and signatures uploaded for keys. */
import type { Queryable } from './database.ts';
import { jsonColumn } from './results.ts';

export type Json = Record<string, unknown>;

export async function getCrossSigningKeys(q: Queryable, userIds: string[]): Promise<Array<{ user_id: string; key_type: string; public_key: string; keys: Json }>> {
  if (userIds.length === 0) return [];
  const rows = await q('cross_signing_keys').whereIn('user_id', userIds).select('user_id', 'key_type', 'public_key', 'keys');
  return rows.map((r: { user_id: string; key_type: string; public_key: string; keys: unknown }) => ({ ...r, keys: jsonColumn<Json>(r.keys) }));
}

export async function putCrossSigningKey(q: Queryable, userId: string, keyType: string, publicKey: string, keys: Json): Promise<void> {
  await q('cross_signing_keys')
    .insert({ user_id: userId, key_type: keyType, public_key: publicKey, keys: JSON.stringify(keys) })
    .onConflict(['user_id', 'key_type'])
    .merge(['public_key', 'keys']);
}

export interface SignatureRow {
  target_user_id: string;
  target_key_id: string;
  signer_user_id: string;
  signer_key_id: string;
  signature: string;
}

export async function putSignatures(q: Queryable, rows: SignatureRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q('key_signatures')
    .insert(rows)
    .onConflict(['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id'])
    .merge(['signature']);
}

/** Signatures on the given users' keys made by signers the viewer may see. */
export async function signaturesFor(q: Queryable, targetUserIds: string[]): Promise<SignatureRow[]> {
  if (targetUserIds.length === 0) return [];
  return q<SignatureRow>('key_signatures').whereIn('target_user_id', targetUserIds);
}

/** A new master key makes every signature made with or for the old keys meaningless. */
export async function deleteSignaturesBy(q: Queryable, signerUserId: string, signerKeyIds: string[]): Promise<void> {
  if (signerKeyIds.length === 0) return;
  await q('key_signatures').where({ signer_user_id: signerUserId }).whereIn('signer_key_id', signerKeyIds).delete();
}

export async function deleteSignaturesOn(q: Queryable, targetUserId: string, targetKeyId: string): Promise<void> {
  await q('key_signatures').where({ target_user_id: targetUserId, target_key_id: targetKeyId }).delete();
}
