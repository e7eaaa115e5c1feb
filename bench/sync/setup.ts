/**
 * The population: users (registered through UIA, as bench/http does), 1:1 DMs (friend requests accepted) between
 * consecutive pairs, groups made of the first users (who are also in a DM), and one stored
 * sync filter per user.
 */
import { register, type BenchUser } from '../http/matrix.ts';
import { mapLimit, type JsonClient } from './http.ts';

const C = '/_matrix/client/v3';

export interface Room {
  roomId: string;
  kind: 'dm' | 'group';
  /** Indexes into the user list. */
  members: number[];
}

export interface Population {
  users: BenchUser[];
  filterIds: string[];
  rooms: Room[];
  timings: { registerSeconds: number; roomsSeconds: number; filtersSeconds: number };
}

export interface PopulationOptions {
  clients: number;
  groups: number;
  groupSize: number;
  timelineLimit: number;
  registerConcurrency: number;
  setupConcurrency: number;
  log: (msg: string) => void;
}

function progress(log: (msg: string) => void, what: string, total: number): (done: number) => void {
  const step = Math.max(1, Math.round(total / 10));
  const start = performance.now();
  return (done) => {
    if (done % step === 0 || done === total) log(`  ${what}: ${done}/${total} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  };
}

/** The user ids are random, so a rare collision is retried once with another. */
async function registerOne(url: string): Promise<BenchUser> {
  try {
    return await register(url);
  } catch {
    return register(url);
  }
}

export async function buildPopulation(url: string, http: JsonClient, o: PopulationOptions): Promise<Population> {
  if (o.clients % 2 !== 0) throw new Error('BENCH_CLIENTS must be even (DM pairs)');
  if (o.groups * o.groupSize > o.clients) throw new Error('the groups need more users than there are clients');
  let t = performance.now();
  const users = await mapLimit(
    Array.from({ length: o.clients }, (_, i) => i),
    o.registerConcurrency,
    () => registerOne(url),
    progress(o.log, 'register', o.clients),
  );
  const registerSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const dmPairs = Array.from({ length: o.clients / 2 }, (_, i) => [2 * i, 2 * i + 1]);
  const dms = await mapLimit(
    dmPairs,
    o.setupConcurrency,
    async ([a, b]): Promise<Room> => {
      // As friends do in Whisper: a friend request is the DM invite, accepting it joins.
      const { room_id: roomId } = await http.ok('POST', '/_whisper/client/v1/friends/requests', {
        token: users[a].accessToken,
        body: { user_id: users[b].userId },
      });
      await http.ok('POST', `/_whisper/client/v1/friends/requests/${encodeURIComponent(users[a].userId)}/accept`, { token: users[b].accessToken, body: {} });
      return { roomId, kind: 'dm', members: [a, b] };
    },
    progress(o.log, 'DMs', dmPairs.length),
  );
  const groups: Room[] = [];
  for (let g = 0; g < o.groups; g++) {
    const members = Array.from({ length: o.groupSize }, (_, i) => g * o.groupSize + i);
    const [owner, ...others] = members;
    const { room_id: roomId } = await http.ok('POST', `${C}/createRoom`, {
      token: users[owner].accessToken,
      body: { preset: 'private_chat', name: `Group ${g}`, invite: others.map((i) => users[i].userId) },
    });
    await mapLimit(others, o.setupConcurrency, (i) => http.ok('POST', `${C}/join/${encodeURIComponent(roomId)}`, { token: users[i].accessToken, body: {} }));
    groups.push({ roomId, kind: 'group', members });
  }
  o.log(`  groups: ${o.groups} x ${o.groupSize}`);
  const roomsSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const filter = { room: { timeline: { limit: o.timelineLimit } } };
  const filterIds = await mapLimit(users, o.setupConcurrency, async (u) => {
    const res = await http.ok('POST', `${C}/user/${encodeURIComponent(u.userId)}/filter`, { token: u.accessToken, body: filter });
    return String(res.filter_id);
  });
  const filtersSeconds = (performance.now() - t) / 1000;

  return { users, filterIds, rooms: [...dms, ...groups], timings: { registerSeconds, roomsSeconds, filtersSeconds } };
}
