import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, uniformRateLimits } from './config.ts';

describe('config', () => {
  it('has defaults for a first `npm start`', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8008);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.serverName, 'localhost');
    assert.equal(c.registration, 'invite');
    assert.equal(c.publicUrl, 'http://127.0.0.1:8008');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.equal(c.databaseUrl, undefined);
  });

  it('reads the environment over a YAML file with snake_case keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'whisper-config-'));
    const file = path.join(dir, 'whisper.yaml');
    writeFileSync(file, 'server_name: chat.example.org\nport: 9000\nrate_limits:\n  login_per_ip: { points: 5, durationSec: 30 }\n');
    const c = loadConfig({ WHISPER_CONFIG: file, WHISPER_PORT: '9100', WHISPER_PUBLIC_URL: 'https://chat.example.org/' });
    assert.equal(c.serverName, 'chat.example.org');
    assert.equal(c.port, 9100);
    assert.equal(c.publicUrl, 'https://chat.example.org');
    assert.deepEqual(c.rateLimits.loginPerIp, { points: 5, durationSec: 30 });
    assert.equal(c.rateLimits.loginPerAccount.points, 10, 'unnamed limits keep their defaults');
  });

  it('names the variable of a bad value', () => {
    assert.throws(() => loadConfig({ WHISPER_PORT: '70000' }), (e: Error) => e instanceof ConfigError && /WHISPER_PORT/.test(e.message));
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ WHISPER_SERVER_NAME: 'not a name!' }), /WHISPER_SERVER_NAME/);
    assert.throws(() => loadConfig({ WHISPER_PUBLIC_URL: 'ftp://x' }), /WHISPER_PUBLIC_URL/);
    assert.throws(() => loadConfig({ WHISPER_CONFIG: '/nonexistent/whisper.yaml' }), /cannot read config file/);
    assert.throws(() => loadConfig({ WHISPER_SECRET_KEY: 'too short' }), /WHISPER_SECRET_KEY/);
    assert.equal(loadConfig({ WHISPER_SECRET_KEY: 'ab'.repeat(32) }).secretKey, 'ab'.repeat(32));
  });

  it('uniformRateLimits covers every kind the server limits', () => {
    const limit = { points: 7, durationSec: 9 };
    assert.deepEqual(Object.keys(uniformRateLimits(limit)).sort(), Object.keys(loadConfig({}).rateLimits).sort());
    assert.ok(Object.values(uniformRateLimits(limit)).every((l) => l === limit));
  });
});
