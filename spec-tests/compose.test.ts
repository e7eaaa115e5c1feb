/**
 * The container files agree with the server: docker-compose.yml sets only variables the
 * server reads, wires DATABASE_URL to its own postgres service and yields a config that loads;
 * the Dockerfile builds in stages on Node 24, runs as a non-root user, checks its health on
 * /_matrix/client/versions and starts homeserver/cli/start.ts. No Docker engine is needed:
 * the files are read as data.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CONFIG_FILE_VAR, ENV_VARS, loadConfig } from '../homeserver/config.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

/**
 * Compose interpolation with an empty environment: `${VAR:-default}` and `${VAR-default}`
 * become their default, `${VAR}` and `$VAR` become empty, `$$` is a literal `$`.
 */
function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, _name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (match === '$$') return '$';
      if (op === ':-' || op === '-') return arg ?? '';
      if (op === ':?' || op === '?') throw new Error(`compose requires ${match} to be set`);
      return '';
    },
  );
}

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target: number | string; published?: number | string }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string | string[] };
  restart?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('docker-compose.yml')) as ComposeFile;

/** A service's environment (map or KEY=VALUE list), interpolated. */
function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  const entries: Array<[string, string]> = Array.isArray(env)
    ? env.map((item) => {
        const eq = item.indexOf('=');
        return eq === -1 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v)]));
}

/** Named volumes (source, target) a service mounts; bind mounts are left out. */
function namedVolumes(service: Service): Array<{ source: string; target: string }> {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v === 'string') {
      const [source, target] = interpolate(v).split(':');
      if (!target || /^[./~]/.test(source)) return [];
      return [{ source, target }];
    }
    if ((v.type ?? 'volume') !== 'volume' || !v.source) return [];
    return [{ source: v.source, target: v.target }];
  });
}

/** Container ports a service publishes. */
function containerPorts(service: Service): string[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return String(p.target);
    const spec = interpolate(String(p)).replace(/\/(tcp|udp)$/, '');
    return spec.split(':').at(-1)!;
  });
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions: comments dropped, continuation lines joined. */
function dockerfileInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (!line && !current)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current.trim()) logical.push(current);
  return logical
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/s.exec(l.trim())!;
      return { keyword: m[1].toUpperCase(), args: m[2].trim() };
    });
}

/** Splits instructions into stages, one per FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(ins);
  }
  return result;
}

/** ENV names and values (`ENV A=1 B=2` or the legacy `ENV A 1`). */
function envOf(instructions: Instruction[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ins of instructions.filter((i) => i.keyword === 'ENV')) {
    if (!ins.args.includes('=')) {
      const [name, ...rest] = ins.args.split(/\s+/);
      out[name] = rest.join(' ');
      continue;
    }
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      out[m[1]] = m[2].replace(/^"(.*)"$/s, '$1');
    }
  }
  return out;
}

describe('docker-compose.yml', () => {
  const whisper = compose.services.whisper;
  const postgres = compose.services.postgres;

  it('has a whisper service built from this folder and a postgres service', () => {
    assert.ok(whisper, 'services.whisper');
    assert.ok(whisper.build, 'whisper is built from the Dockerfile');
    assert.ok(postgres, 'services.postgres');
    assert.match(postgres.image ?? '', /^postgres:\d+/);
  });

  it('sets only environment variables the server reads', () => {
    const known = new Set([...Object.keys(ENV_VARS), CONFIG_FILE_VAR]);
    const names = Object.keys(environment(whisper));
    assert.ok(names.length > 0);
    const unknown = names.filter((n) => !known.has(n));
    assert.deepEqual(unknown, [], `variables the server does not read: ${unknown.join(', ')}`);
  });

  it('points DATABASE_URL at the postgres service with its user, password and database', () => {
    const url = environment(whisper).DATABASE_URL;
    assert.ok(url, 'DATABASE_URL is set');
    const parsed = new URL(url);
    const pg = environment(postgres);
    assert.match(parsed.protocol, /^postgres(ql)?:$/);
    assert.equal(parsed.hostname, 'postgres', 'host is the postgres service name');
    assert.ok(parsed.port === '' || parsed.port === '5432', `port ${parsed.port}`);
    assert.equal(decodeURIComponent(parsed.username), pg.POSTGRES_USER);
    assert.equal(decodeURIComponent(parsed.password), pg.POSTGRES_PASSWORD);
    assert.equal(decodeURIComponent(parsed.pathname.slice(1)), pg.POSTGRES_DB);
  });

  it('publishes the port the server listens on (WHISPER_PORT)', () => {
    const port = environment(whisper).WHISPER_PORT;
    assert.ok(port, 'WHISPER_PORT is set');
    assert.ok(containerPorts(whisper).includes(port), `ports ${JSON.stringify(whisper.ports)} publish ${port}`);
  });

  it('keeps the data dir and the postgres data in named volumes', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const dataDir = environment(whisper).WHISPER_DATA_DIR;
    const whisperData = namedVolumes(whisper).find((v) => v.target === dataDir);
    assert.ok(whisperData, `a named volume is mounted on ${dataDir}`);
    assert.ok(declared.includes(whisperData.source), `${whisperData.source} is declared in top-level volumes`);
    const pgData = namedVolumes(postgres).find((v) => v.target.startsWith('/var/lib/postgresql'));
    assert.ok(pgData, 'postgres mounts a named volume on /var/lib/postgresql/...');
    assert.ok(declared.includes(pgData.source), `${pgData.source} is declared in top-level volumes`);
  });

  it('starts whisper once postgres is healthy, and restarts both', () => {
    const dependsOn = whisper.depends_on;
    assert.ok(dependsOn && !Array.isArray(dependsOn), 'depends_on uses the long form');
    assert.equal(dependsOn.postgres?.condition, 'service_healthy');
    const test = postgres.healthcheck?.test;
    assert.match(Array.isArray(test) ? test.join(' ') : (test ?? ''), /pg_isready/);
    assert.equal(whisper.restart, 'unless-stopped');
    assert.equal(postgres.restart, 'unless-stopped');
  });

  it("gives a config that loads, with the compose file's defaults", () => {
    const env = environment(whisper);
    const config = loadConfig(env);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, Number(env.WHISPER_PORT));
    assert.equal(config.dataDir, env.WHISPER_DATA_DIR);
    assert.equal(config.databaseUrl, env.DATABASE_URL);
    assert.equal(config.serverName, 'localhost');
    assert.equal(config.publicUrl, 'http://localhost:8008');
    assert.equal(config.registration, 'invite');
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions(read('Dockerfile'));
  const all = stages(instructions);
  const runtime = all.at(-1) ?? [];
  const only = (list: Instruction[], keyword: string) => list.filter((i) => i.keyword === keyword);

  it('builds in at least two stages, every base image Node 24', () => {
    const froms = only(instructions, 'FROM');
    assert.ok(froms.length >= 2, `${froms.length} FROM stages`);
    const stageNames = new Set(froms.map((f) => /\bAS\s+(\S+)/i.exec(f.args)?.[1]?.toLowerCase()).filter(Boolean));
    for (const from of froms) {
      const image = from.args.replace(/^--platform=\S+\s+/, '').split(/\s+/)[0];
      if (stageNames.has(image.toLowerCase())) continue;
      assert.match(image, /^(docker\.io\/)?(library\/)?node:24(\.|-|$)/, `FROM ${image} is Node 24`);
    }
  });

  it('installs with npm ci, then prunes the dev dependencies', () => {
    const runs = only(instructions, 'RUN').map((r) => r.args).join('\n');
    assert.match(runs, /npm ci/);
    assert.match(runs, /npm prune --omit=dev/);
    assert.equal(envOf(instructions).ELECTRON_SKIP_BINARY_DOWNLOAD, '1');
  });

  it('runs as a non-root user', () => {
    const users = only(runtime, 'USER');
    assert.ok(users.length > 0, 'the runtime stage sets USER');
    const user = users.at(-1)!.args.split(':')[0];
    assert.notEqual(user, 'root');
    assert.notEqual(user, '0');
  });

  it('copies package.json (module type), node_modules and the server sources into the runtime stage', () => {
    const copies = only(runtime, 'COPY').map((c) => c.args).join('\n');
    for (const what of ['package.json', 'node_modules', 'homeserver', 'migrations']) {
      assert.ok(copies.includes(what), `runtime stage copies ${what}`);
    }
  });

  it('listens on all interfaces, on the exposed port, with its data in a /data volume', () => {
    const env = envOf(runtime);
    const known = new Set([...Object.keys(ENV_VARS), CONFIG_FILE_VAR]);
    for (const name of Object.keys(env).filter((n) => n.startsWith('WHISPER_'))) {
      assert.ok(known.has(name), `ENV ${name} is read by the server`);
    }
    assert.equal(env.WHISPER_HOST, '0.0.0.0');
    assert.equal(env.WHISPER_DATA_DIR, '/data');
    assert.ok(only(runtime, 'VOLUME').some((v) => v.args.includes('/data')), 'VOLUME /data');
    const exposed = only(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/).map((p) => p.split('/')[0]));
    assert.ok(exposed.includes(env.WHISPER_PORT ?? '8008'), `EXPOSE ${exposed.join(' ')}`);
    // The image's own settings are a valid configuration.
    const config = loadConfig(env);
    assert.equal(config.host, '0.0.0.0');
  });

  it('checks its health on /_matrix/client/versions', () => {
    const health = only(runtime, 'HEALTHCHECK');
    assert.equal(health.length, 1);
    assert.match(health[0].args, /\/_matrix\/client\/versions/);
  });

  it('starts homeserver/cli/start.ts with node', () => {
    const cmds = only(runtime, 'CMD');
    assert.ok(cmds.length > 0, 'CMD');
    const args = cmds.at(-1)!.args;
    const argv: string[] = args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/);
    assert.deepEqual(argv, ['node', 'homeserver/cli/start.ts']);
    assert.ok(existsSync(`${root}homeserver/cli/start.ts`), 'homeserver/cli/start.ts exists');
  });

  it('keeps node_modules, data and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'data', '.git', '*.log', 'client/dist', '.env']) {
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    }
  });
});
