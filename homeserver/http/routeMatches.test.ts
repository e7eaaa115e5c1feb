/** Remembered route matches: the same routes and parameters as without, found once per path. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Router } from '@koa/router';
import { rememberMatches } from './routeMatches.ts';

describe('remembered route matches', () => {
  it('answers as the router does, working each method and path out once', async () => {
    const router = new Router();
    router.get('/rooms/:id', (ctx) => { ctx.body = { room: ctx.params.id }; });
    router.put('/rooms/:id', (ctx) => { ctx.body = { put: ctx.params.id }; });
    let worked = 0;
    const match = router.match.bind(router);
    router.match = (path, method) => {
      worked++;
      return match(path, method);
    };
    const app = new Koa();
    app.use(rememberMatches(router).routes());
    app.use(router.allowedMethods());
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const get = async (path: string, method = 'GET') => {
        const res = await fetch(base + path, { method });
        return [res.status, res.status === 200 ? await res.json() : undefined];
      };
      assert.deepEqual(await get('/rooms/a'), [200, { room: 'a' }]);
      assert.deepEqual(await get('/rooms/a'), [200, { room: 'a' }]);
      assert.deepEqual(await get('/rooms/b'), [200, { room: 'b' }]);
      assert.deepEqual(await get('/rooms/b', 'PUT'), [200, { put: 'b' }]);
      assert.deepEqual(await get('/nowhere'), [404, undefined]);
      assert.deepEqual(await get('/rooms/a', 'DELETE'), [405, undefined]);
      // GET /rooms/a twice, /rooms/b, PUT /rooms/b, /nowhere, DELETE /rooms/a (the
      // router's allowedMethods looks at what routing stored, not at match again).
      assert.equal(worked, 5);
    } finally {
      server.close();
    }
  });
});
