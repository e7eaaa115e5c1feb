/**
 * The server key: 32 bytes that encrypt secrets the server must be able to read back (TOTP
 * secrets), unlike passwords and tokens, which are hashed. From WHISPER_SECRET_KEY when set
 * (several processes on one PostgreSQL share it that way); otherwise made once and kept in
 * <dataDir>/secret.key, readable by the server's user only. An in-memory server (tests) gets
 * a fresh one.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../config.ts';

export const KEY_FILE = 'secret.key';
const KEY_BYTES = 32;

/** 64 hex digits or base64 / base64url of 32 bytes (the config schema checked the shape). */
export function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new ConfigError(`${where} must hold 32 random bytes as 64 hex digits or base64`);
  return key;
}

export async function loadServerKey(config: Pick<Config, 'secretKey' | 'dataDir'>): Promise<Buffer> {
  if (config.secretKey) return decodeKey(config.secretKey, 'WHISPER_SECRET_KEY');
  if (config.dataDir === ':memory:') return randomBytes(KEY_BYTES);
  const file = path.join(config.dataDir, KEY_FILE);
  await mkdir(config.dataDir, { recursive: true });
  // Written whole beside it, then linked into place: of two processes starting on one data
  // dir, one key wins and neither can read a half-written file.
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600 });
  try {
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(temp);
  }
  return decodeKey(await readFile(file, 'utf8'), file);
}
