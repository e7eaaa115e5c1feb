/**
 * The network namespace media runs in (tests and bench/voice): Janus 1.1.2 gathers no ICE on
 * loopback, and nothing may go to the machine's other addresses, so Janus, the server and
 * Chromium share one namespace with a veth pair whose both ends are inside, 198.18.0.2/30 on
 * one of them, a default route on it, and lo up. HTTP stays on 127.0.0.1; ICE pairs on
 * 198.18.0.2. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export interface MediaNamespace {
  name: string;
  remove(): void;
}

export function makeMediaNamespace(prefix: string): MediaNamespace {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  ip('netns', 'add', name);
  const remove = () => ip('netns', 'del', name);
  try {
    const inNs = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
    inNs('link', 'set', 'lo', 'up');
    inNs('link', 'add', 'name', 'wm0', 'type', 'veth', 'peer', 'name', 'wm1');
    inNs('addr', 'add', '198.18.0.2/30', 'dev', 'wm0');
    inNs('link', 'set', 'wm0', 'up');
    inNs('link', 'set', 'wm1', 'up');
    inNs('route', 'add', 'default', 'dev', 'wm0');
  } catch (err) {
    remove();
    throw err;
  }
  return { name, remove };
}
