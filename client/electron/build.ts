/**
 * Bundles the desktop shell into client/electron/dist: main.cjs (main process), preload.cjs
 * (sandboxed preload), and the first-start setup page. `npm run build:desktop` at the root.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';

const HERE = import.meta.dirname;
const DIST = path.join(HERE, 'dist');

export async function buildDesktop(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['electron'], logLevel: 'warning' } satisfies esbuild.BuildOptions;
  await esbuild.build({ ...common, entryPoints: [path.join(HERE, 'entry-main.ts')], outfile: path.join(DIST, 'main.cjs') });
  await esbuild.build({ ...common, entryPoints: [path.join(HERE, 'entry-preload.ts')], outfile: path.join(DIST, 'preload.cjs') });
  await cp(path.join(HERE, 'static'), DIST, { recursive: true });
}

if (import.meta.main) {
  await buildDesktop();
  console.log(`desktop shell built: ${path.relative(process.cwd(), DIST)}`);
}
