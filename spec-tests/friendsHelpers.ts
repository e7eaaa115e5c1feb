/** Helpers for the friends and blocking tests: Whisper's API, sync, and the friends account data. */
import assert from 'node:assert/strict';
import type { Response, TestServer, TestUser } from './harness.ts';

export const W = '/_whisper/client/v1';
export const V3 = '/_matrix/client/v3';
export const enc = encodeURIComponent;

/** A Whisper API call as `u`. */
export function whisper(srv: TestServer, u: TestUser, method: string, path: string, body?: unknown): Promise<Response> {
  return srv.request(method, W + path, { token: u.access_token, body: body ?? (method === 'GET' ? undefined : {}) });
}

/** A Whisper API call that must succeed; returns the body. */
export async function ok(srv: TestServer, u: TestUser, method: string, path: string, body?: unknown): Promise<any> {
  const res = await whisper(srv, u, method, path, body);
  assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A Matrix client-server call as `u`. */
export function matrix(srv: TestServer, u: TestUser, method: string, path: string, body?: unknown): Promise<Response> {
  return srv.request(method, V3 + path, { token: u.access_token, body: body ?? (method === 'GET' ? undefined : {}) });
}

export async function sync(srv: TestServer, u: TestUser, since?: string, timeout = 0): Promise<any> {
  const res = await matrix(srv, u, 'GET', `/sync?timeout=${timeout}&set_presence=offline${since ? `&since=${enc(since)}` : ''}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The org.whisper.friends content in a sync answer (the newest), if any. */
export function friendsData(body: any): any {
  return body.account_data.events.filter((e: any) => e.type === 'org.whisper.friends').at(-1)?.content;
}

/** The user's membership in a room, from the room's member list as its creator sees it. */
export async function membershipIn(srv: TestServer, viewer: TestUser, roomId: string, userId: string): Promise<string | undefined> {
  const res = await matrix(srv, viewer, 'GET', `/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`);
  return res.status === 200 ? res.body.membership : undefined;
}

/** Makes two users friends through the API; returns their DM room. */
export async function befriend(srv: TestServer, a: TestUser, b: TestUser): Promise<string> {
  const sent = await ok(srv, a, 'POST', '/friends/requests', { user_id: b.user_id });
  await ok(srv, b, 'POST', `/friends/requests/${enc(a.user_id)}/accept`);
  return sent.room_id;
}
