/** Serves the web client (for now its placeholder page) at `/`. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../http/types.ts';

const INDEX = path.resolve(import.meta.dirname, '../../client/src/index.html');

export function webClientHandlers() {
  let page: Promise<string> | undefined;
  return {
    async index(ctx: Ctx) {
      page ??= readFile(INDEX, 'utf8');
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = await page;
    },
  };
}
