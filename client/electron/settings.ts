/** The desktop app's remembered settings (server URL, push-to-talk key), a JSON file in userData. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DesktopSettings {
  serverUrl?: string;
  pushToTalkKey?: string;
}

export class SettingsFile {
  private readonly file: string;
  private current: DesktopSettings;

  constructor(dir: string) {
    this.file = path.join(dir, 'whisper-settings.json');
    this.current = SettingsFile.read(this.file);
  }

  private static read(file: string): DesktopSettings {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8'));
      return typeof parsed === 'object' && parsed ? parsed : {};
    } catch {
      return {};
    }
  }

  get(): DesktopSettings {
    return { ...this.current };
  }

  update(change: Partial<DesktopSettings>): void {
    this.current = { ...this.current, ...change };
    mkdirSync(path.dirname(this.file), { recursive: true });
    // Written whole and renamed, so a crash never leaves half a file.
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.current, null, 2));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

/** An http(s) server address, normalised to its origin (+ path); undefined when it is not one. */
export function parseServerUrl(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 2048) return undefined;
  try {
    const url = new URL(input.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (url.username || url.password) return undefined;
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}
