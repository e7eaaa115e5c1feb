/** The few Matrix client-server calls the benchmark makes, over real HTTP. */
import { randomBytes } from 'node:crypto';

export interface BenchUser {
  userId: string;
  username: string;
  password: string;
  accessToken: string;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers through user-interactive auth: `{}` → 401 with a session, then the dummy stage. */
export async function register(baseUrl: string): Promise<BenchUser> {
  const url = `${baseUrl}/_matrix/client/v3/register`;
  const username = `bench_${randomBytes(4).toString('hex')}`;
  const password = `bench-${randomBytes(12).toString('hex')}`;
  const first = await post(url, {});
  if (first.status !== 401 || typeof first.body?.session !== 'string') {
    throw new Error(`register: expected a 401 UIA challenge, got ${first.status} ${JSON.stringify(first.body)}`);
  }
  const second = await post(url, { username, password, auth: { type: 'm.login.dummy', session: first.body.session } });
  if (second.status !== 200 || typeof second.body?.access_token !== 'string') {
    throw new Error(`register: expected 200 with an access_token, got ${second.status} ${JSON.stringify(second.body)}`);
  }
  return { userId: second.body.user_id, username, password, accessToken: second.body.access_token };
}

/** One password login; throws unless it returns 200 with a token. */
export async function login(baseUrl: string, user: BenchUser): Promise<void> {
  const res = await post(`${baseUrl}/_matrix/client/v3/login`, {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: user.username },
    password: user.password,
  });
  if (res.status !== 200 || typeof res.body?.access_token !== 'string') {
    throw new Error(`login: expected 200, got ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** One whoami with the user's token; throws unless it names the user. */
export async function whoami(baseUrl: string, user: BenchUser): Promise<void> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/account/whoami`, {
    headers: { Authorization: `Bearer ${user.accessToken}` },
  });
  const body = (await res.json()) as { user_id?: string };
  if (res.status !== 200 || body.user_id !== user.userId) {
    throw new Error(`whoami: expected 200 for ${user.userId}, got ${res.status} ${JSON.stringify(body)}`);
  }
}
