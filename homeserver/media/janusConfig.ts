/**
 * Fills the Janus configuration templates of `media/` and writes them to a folder Janus is
 * started with (`-F`). Secrets go in here and nowhere else, so the folder is private (0700).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../media');
const TEMPLATES = ['janus.jcfg', 'janus.transport.websockets.jcfg', 'janus.plugin.videoroom.jcfg'];

export interface JanusConfigValues {
  wsIp: string;
  wsPort: number;
  apiSecret: string;
  adminKey: string;
  rtpPortRange: string;
  /** nat_1_1_mapping: the public address(es) to advertise behind a 1:1 NAT. */
  publicIp?: string;
  /** ice_enforce_list: interfaces or address prefixes to gather candidates on. */
  iceInterfaces?: string;
  debugLevel: number;
}

/** A value inside a jcfg string literal. */
function quoted(value: string): string {
  if (/["\\\n]/.test(value)) throw new Error(`unsafe value for the Janus configuration: ${value}`);
  return value;
}

export async function writeJanusConfig(folder: string, v: JanusConfigValues): Promise<string> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const nat = [
    v.publicIp ? `\tnat_1_1_mapping = "${quoted(v.publicIp)}"` : '',
    v.iceInterfaces ? `\tice_enforce_list = "${quoted(v.iceInterfaces)}"` : '',
  ].filter(Boolean).join('\n');
  const values: Record<string, string> = {
    CONFIGS_FOLDER: quoted(folder),
    DEBUG_LEVEL: String(v.debugLevel),
    API_SECRET: quoted(v.apiSecret),
    // The admin API is never enabled; its secret is random so no default one exists.
    ADMIN_SECRET: quoted(v.adminKey),
    RTP_PORT_RANGE: quoted(v.rtpPortRange),
    NAT_LINES: nat,
    WS_PORT: String(v.wsPort),
    WS_IP: quoted(v.wsIp),
    ADMIN_KEY: quoted(v.adminKey),
  };
  for (const name of TEMPLATES) {
    const template = await readFile(path.join(TEMPLATE_DIR, name), 'utf8');
    const filled = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
      if (!(key in values)) throw new Error(`${name}: unknown placeholder ${key}`);
      return values[key];
    });
    await writeFile(path.join(folder, name), filled, { mode: 0o600 });
  }
  return path.join(folder, 'janus.jcfg');
}
