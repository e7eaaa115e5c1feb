/**
 * Every dependency with an install script has an explicit decision in `allowScripts`. npm 12
 * skips the install scripts of unlisted dependencies, and without theirs `node` (the Node 24
 * every npm script runs on) and Electron's binary would silently be missing after an install
 * that reports success.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const readJson = (file: string) => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));

/** The package name a lockfile key like `node_modules/a/node_modules/@s/b` stands for. */
function packageName(lockKey: string): string {
  return lockKey.slice(lockKey.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

describe('install scripts (npm allowScripts)', () => {
  it('names every locked dependency that has an install script', () => {
    const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
    const allowed = (readJson('package.json') as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = Object.entries(lock.packages).filter(([key, p]) => key !== '' && p.hasInstallScript).map(([key]) => packageName(key));
    assert.ok(withScripts.includes('node'), 'the lockfile no longer marks the node package as having an install script');
    assert.deepEqual(withScripts.filter((name) => !(name in allowed)), [], 'dependencies with install scripts missing from allowScripts');
    // The ones Whisper cannot run without.
    for (const name of ['node', 'argon2']) assert.equal(allowed[name], true, name);
  });

  it('lets the desktop app download its Electron binary', () => {
    const desktop = readJson('client/electron/package.json') as { devDependencies: Record<string, string>; allowScripts?: Record<string, boolean> };
    assert.ok(desktop.devDependencies.electron);
    assert.equal(desktop.allowScripts?.electron, true);
  });
});
