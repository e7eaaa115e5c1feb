/**
 * Bundles the web client (client/src) into client/dist with esbuild: content-hashed assets
 * under dist/assets (served immutable) and dist/index.html pointing at them (served no-cache).
 * `--if-stale` builds only when a source file is newer than the last build, which is what
 * `npm start` and `npm test` run first.
 */
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'client/src');
export const DIST = path.join(ROOT, 'client/dist');
const ASSETS = path.join(DIST, 'assets');
/** The crypto WASM is fetched by the lazily loaded crypto chunk from `./pkg/` beside it. */
const CRYPTO_WASM = path.join(ROOT, 'node_modules/@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm');

export interface BuildResult {
  /** Asset file names (relative to dist/assets) by their role. */
  script: string;
  style?: string;
  files: string[];
}

export async function buildClient(opts: { minify?: boolean } = {}): Promise<BuildResult> {
  await rm(DIST, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(SRC, 'main.ts') },
    bundle: true,
    format: 'esm',
    // Code splitting keeps what is imported dynamically (the Rust crypto and its WASM glue) out of the main chunk.
    splitting: true,
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    outdir: ASSETS,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const script = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith('main.ts'))?.[0];
  if (!script) throw new Error('esbuild produced no entry chunk');
  const style = outputs.find(([file]) => file.endsWith('.css'))?.[0];
  const rel = (file: string) => path.relative(ASSETS, path.resolve(ROOT, file)).split(path.sep).join('/');
  await mkdir(path.join(ASSETS, 'pkg'), { recursive: true });
  await cp(CRYPTO_WASM, path.join(ASSETS, 'pkg', path.basename(CRYPTO_WASM)));
  await precompress(ASSETS);

  const template = await readFile(path.join(SRC, 'index.html'), 'utf8');
  const head = [
    style ? `<link rel="stylesheet" href="/assets/${rel(style)}">` : '',
    // The chunks the entry imports statically, fetched beside it rather than once it has been parsed.
    ...staticImports(result.metafile, script).map((chunk) => `<link rel="modulepreload" href="/assets/${rel(chunk)}">`),
    `<script type="module" src="/assets/${rel(script)}"></script>`,
  ].filter(Boolean).join('\n  ');
  await writeFile(path.join(DIST, 'index.html'), template.replace('<!-- whisper:assets -->', head));
  await writeFile(path.join(DIST, 'meta.json'), JSON.stringify(result.metafile));
  return { script: rel(script), style: style && rel(style), files: outputs.map(([f]) => rel(f)) };
}

/** What the server sends compressed when the browser accepts it (source maps and notices are left as they are). */
const COMPRESSED = new Set(['.js', '.css', '.wasm']);

/**
 * Writes `<file>.br` and `<file>.gz` beside each asset, once per build, for the server to send
 * (homeserver/api/webClient.ts): the app's JavaScript and the 7.8 MB crypto WASM travel at a
 * fifth to a third of their size, at no CPU cost per request.
 */
async function precompress(dir: string): Promise<void> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => COMPRESSED.has(path.extname(f)));
  await Promise.all(files.map(async (name) => {
    const file = path.join(dir, name);
    const data = await readFile(file);
    // Brotli's best quality is slow on megabytes; 9 is within a few percent of it there.
    const quality = data.length > 2_000_000 ? 9 : zlib.constants.BROTLI_MAX_QUALITY;
    const [br, gz] = await Promise.all([
      brotli(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
      gzip(data, { level: 9 }),
    ]);
    await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gz)]);
  }));
}

/** Every chunk `entry` imports statically, directly or through another chunk (not itself). */
function staticImports(meta: esbuild.Metafile, entry: string): string[] {
  const found = new Set<string>();
  const walk = (file: string) => {
    for (const imp of meta.outputs[file]?.imports ?? []) {
      if (imp.kind !== 'import-statement' || found.has(imp.path)) continue;
      found.add(imp.path);
      walk(imp.path);
    }
  };
  walk(entry);
  return [...found];
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtime(full));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, (await stat(full)).mtimeMs);
  }
  return newest;
}

/** True when there is no build, or a source file (or the installed packages) changed after it. */
export async function isStale(): Promise<boolean> {
  let built: number;
  try {
    built = (await stat(path.join(DIST, 'index.html'))).mtimeMs;
  } catch {
    return true;
  }
  const inputs = Math.max(
    await newestMtime(SRC),
    (await stat(path.join(ROOT, 'package-lock.json'))).mtimeMs,
    (await stat(import.meta.filename)).mtimeMs,
  );
  return inputs > built;
}

if (import.meta.main) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !(await isStale())) process.exit(0);
  const started = Date.now();
  const out = await buildClient({ minify: !process.argv.includes('--dev') });
  console.log(`client built in ${Date.now() - started} ms: client/dist/assets/${out.script}`);
}
