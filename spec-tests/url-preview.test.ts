/**
 * URL previews against pages served by the test on loopback: OpenGraph and plain-HTML pages,
 * the page's image stored in the media repository, redirects, direct image links, and the
 * server-side request forgery guard (private addresses refused unless the operator lists them).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { describeServer, type TestUser } from './harness.ts';

const PREVIEW = '/_matrix/client/v1/media/preview_url';

interface Site {
  base: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** A small web site on 127.0.0.1 whose pages each test asks the server to preview. */
async function startSite(): Promise<Site> {
  const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 20, g: 120, b: 200 } } }).png().toBuffer();
  const hits = new Map<string, number>();
  const pages: Record<string, (res: http.ServerResponse) => void> = {
    '/og': (res) => html(res, `<html><head><title>Ignored title</title>
      <meta property="og:title" content="Game night &amp; chill">
      <meta property="og:description" content="  Friday,
         8pm  ">
      <meta property="og:image" content="/img/cover.png">
      <meta property="og:secret" content="not passed on">
      </head><body>${'<p>filler</p>'.repeat(10)}</body></html>`),
    '/plain': (res) => html(res, '<html><head><title>Just a title</title><meta name="description" content="From the description tag"></head></html>', 'text/html; charset=iso-8859-1'),
    '/latin1': (res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=iso-8859-1' });
      res.end(Buffer.from('<title>Caf\xe9</title>', 'latin1'));
    },
    '/moved': (res) => {
      res.writeHead(302, { Location: '/og' });
      res.end();
    },
    '/loop': (res) => {
      res.writeHead(302, { Location: '/loop' });
      res.end();
    },
    '/img/cover.png': (res) => {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(png);
    },
    '/broken-image': (res) => html(res, '<meta property="og:title" content="No picture"><meta property="og:image" content="/missing.png">'),
    '/data.json': (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    },
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const page = pages[path];
    if (!page) {
      res.writeHead(404);
      res.end();
      return;
    }
    page(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function html(res: http.ServerResponse, body: string, type = 'text/html; charset=utf-8'): void {
  res.writeHead(200, { 'Content-Type': type });
  res.end(body);
}

describeServer('URL previews, enabled for a loopback site', { urlPreviews: true, urlPreviewAllowedIps: ['127.0.0.1/32'] }, (srv) => {
  let site: Site;
  let alice: TestUser;
  const preview = (url: string) => srv().request('GET', `${PREVIEW}?url=${encodeURIComponent(url)}&ts=1`, { token: alice.access_token });

  before(async () => {
    site = await startSite();
    alice = await srv().register('alice');
  });
  after(() => site.close());

  it('reads OpenGraph tags and stores the page image in the media repository', async () => {
    const res = await preview(`${site.base}/og`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['og:title'], 'Game night & chill');
    assert.equal(res.body['og:description'], 'Friday, 8pm');
    assert.equal(res.body['og:secret'], undefined);
    assert.match(res.body['og:image'], /^mxc:\/\/whisper\.test\//);
    assert.equal(res.body['og:image:width'], 320);
    assert.equal(res.body['og:image:height'], 200);
    assert.equal(res.body['og:image:type'], 'image/png');
    const image = await fetch(`${srv().url}/_matrix/client/v1/media/download/${res.body['og:image'].slice(6)}`, {
      headers: { Authorization: `Bearer ${alice.access_token}` },
    });
    assert.equal(image.status, 200);
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    assert.equal(meta.width, 320);
    assert.equal(res.body['matrix:image:size'] > 0, true);
  });

  it('falls back to <title> and the description tag, in the page\'s charset', async () => {
    const res = await preview(`${site.base}/plain`);
    assert.deepEqual(res.body, { 'og:title': 'Just a title', 'og:description': 'From the description tag' });
    assert.equal((await preview(`${site.base}/latin1`)).body['og:title'], 'Café');
  });

  it('follows redirects, but not forever', async () => {
    assert.equal((await preview(`${site.base}/moved`)).body['og:title'], 'Game night & chill');
    const loop = await preview(`${site.base}/loop`);
    assert.equal(loop.status, 502);
    assert.match(loop.body.error, /redirects/);
  });

  it('previews a direct image link, and a page whose image is gone', async () => {
    const direct = await preview(`${site.base}/img/cover.png`);
    assert.match(direct.body['og:image'], /^mxc:/);
    assert.equal(direct.body['og:image:width'], 320);
    assert.deepEqual((await preview(`${site.base}/broken-image`)).body, { 'og:title': 'No picture' });
    assert.deepEqual((await preview(`${site.base}/data.json`)).body, {});
  });

  it('asks the site once for a link many people preview', async () => {
    const url = `${site.base}/plain?once`;
    await Promise.all(Array.from({ length: 5 }, () => preview(url)));
    await preview(url);
    assert.equal(site.hits.get('/plain'), 2); // the earlier test's fetch, and this URL's one
  });

  it('refuses what is not an http(s) URL, and reports an unreachable site', async () => {
    for (const bad of ['not a url', 'ftp://127.0.0.1/x', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/']) {
      const res = await preview(bad);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    }
    const missing = await srv().request('GET', PREVIEW, { token: alice.access_token });
    assert.equal(missing.status, 400);
    const gone = await preview(`${site.base}/nothing-here`);
    assert.equal(gone.status, 502);
    const closedPort = await preview('http://127.0.0.1:1/');
    assert.equal(closedPort.status, 502);
    assert.equal((await srv().request('GET', `${PREVIEW}?url=${encodeURIComponent(site.base)}`)).status, 401);
  });
});

describeServer('URL previews guard the server\'s own network', { urlPreviews: true }, (srv) => {
  let site: Site;
  let bob: TestUser;

  before(async () => {
    site = await startSite();
    bob = await srv().register('bob');
  });
  after(() => site.close());

  it('refuses loopback and private addresses unless the operator allows them', async () => {
    for (const url of [`${site.base}/og`, 'http://[::1]:1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/']) {
      const res = await srv().request('GET', `${PREVIEW}?url=${encodeURIComponent(url)}`, { token: bob.access_token });
      assert.equal(res.status, 403, `${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    }
    assert.equal(site.hits.size, 0);
  });
});
