import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { MatrixError } from '../../errors.ts';
import {
  canonicalJson,
  checkCanonicalValues,
  checkStoredJsonValues,
  checkEventSize,
  contentHash,
  eventIdFor,
  redactContent,
  redactEvent,
  withHashes,
} from './eventFormat.ts';
import type { PduBody } from '../../storage/events.ts';
import type { RoomVersion } from './eventFormat.ts';

const VERSIONS: RoomVersion[] = ['10', '11'];

function matrixError(status: number, errcode: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof MatrixError, `expected a MatrixError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.errcode, errcode);
    if (message) assert.match(err.message, message);
    return true;
  };
}

function pdu(overrides: Partial<PduBody> = {}): PduBody {
  return {
    room_id: '!room:example.org',
    sender: '@alice:example.org',
    type: 'm.room.message',
    content: { msgtype: 'm.text', body: 'hello' },
    origin_server_ts: 1700000000000,
    depth: 5,
    prev_events: ['$prev'],
    auth_events: ['$create', '$member', '$power'],
    ...overrides,
  };
}

function unpadded(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

/** The spec's test signing key (appendix "Cryptographic Test Vectors"): ed25519 from a seed. */
function specSigner(): (bytes: string) => string {
  const seed = Buffer.from('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', 'base64');
  // PKCS#8 wrapping of a raw ed25519 seed, so node:crypto can load it.
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const key = createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
  return (bytes) => unpadded(sign(null, Buffer.from(bytes, 'utf8'), key));
}

/** Signing an event (appendix "Signing Events"): sign the redacted event minus signatures/unsigned. */
function signEvent(event: Record<string, unknown>, version: RoomVersion): string {
  const redacted = redactEvent(event, version);
  delete redacted.signatures;
  delete redacted.unsigned;
  return specSigner()(canonicalJson(redacted));
}

describe('eventFormat', () => {
  describe('canonicalJson', () => {
    // Appendix "Canonical JSON", examples.
    const examples: [unknown, string][] = [
      [{}, '{}'],
      [{ one: 1, two: 'Two' }, '{"one":1,"two":"Two"}'],
      [{ b: '2', a: '1' }, '{"a":"1","b":"2"}'],
      [
        {
          auth: {
            success: true,
            mxid: '@john.doe:example.com',
            profile: {
              display_name: 'John Doe',
              three_pids: [
                { medium: 'email', address: 'john.doe@example.org' },
                { medium: 'msisdn', address: '123456789' },
              ],
            },
          },
        },
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":' +
          '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},' +
          '"success":true}}',
      ],
      [{ a: '日本語' }, '{"a":"日本語"}'],
      [{ 本: 2, 日: 1 }, '{"日":1,"本":2}'],
      [JSON.parse('{"a": "\\u65E5"}'), '{"a":"日"}'],
      [{ a: null }, '{"a":null}'],
      [JSON.parse('{"a": -0, "b": 1e10}'), '{"a":0,"b":10000000000}'],
    ];
    examples.forEach(([input, expected], i) => {
      it(`matches the spec example ${i + 1}: ${expected}`, () => {
        assert.equal(canonicalJson(input), expected);
      });
    });

    it('sorts nested keys and keeps array order', () => {
      assert.equal(canonicalJson({ z: [3, 1, { y: 1, x: 2 }], a: false }), '{"a":false,"z":[3,1,{"x":2,"y":1}]}');
    });

    it('sorts keys by code point, not by UTF-16 unit', () => {
      // U+E000 < U+1F600 as code points, though the emoji's lead surrogate D83D < E000.
      assert.equal(canonicalJson({ '😀': 2, '\ue000': 1, a: 0 }), '{"a":0,"\ue000":1,"😀":2}');
      assert.equal(canonicalJson({ 'ab': 2, 'a': 1 }), '{"a":1,"ab":2}');
    });

    it('escapes only what the grammar requires, with lowercase \\u00XX', () => {
      assert.equal(canonicalJson('"\\'), '"\\"\\\\"');
      assert.equal(canonicalJson('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
      assert.equal(canonicalJson('\u0000\u0001\u000b\u001f'), '"\\u0000\\u0001\\u000b\\u001f"');
      // Slash, DEL, U+2028 and non-ASCII stay raw UTF-8.
      assert.equal(canonicalJson('/\u007f\u2028é😀'), '"/\u007f\u2028é😀"');
    });

    it('writes integers plainly up to ±(2^53-1)', () => {
      assert.equal(canonicalJson([0, -1, 9007199254740991, -9007199254740991]), '[0,-1,9007199254740991,-9007199254740991]');
    });

    it('leaves out undefined object members (optional fields)', () => {
      assert.equal(canonicalJson({ a: 1, state_key: undefined }), '{"a":1}');
    });

    it('rejects floats, unsafe integers and non-JSON values with 400 M_BAD_JSON', () => {
      for (const bad of [1.5, 9007199254740992, -9007199254740992, NaN, Infinity, [undefined], 1n, () => 1, new Date(0), new Map()]) {
        assert.throws(() => canonicalJson(bad), matrixError(400, 'M_BAD_JSON'), String(bad));
      }
      assert.throws(() => canonicalJson('\ud800'), matrixError(400, 'M_BAD_JSON', /lone surrogate/));
    });

    it('rejects reference cycles instead of hanging', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      assert.throws(() => canonicalJson(cyclic), matrixError(400, 'M_BAD_JSON'));
    });
  });

  describe('checkCanonicalValues', () => {
    it('accepts ordinary content', () => {
      checkCanonicalValues({ body: 'hi', n: -3, list: [true, null, { x: 'y' }], big: 2 ** 53 - 1 });
    });

    it('names the path of a float', () => {
      assert.throws(
        () => checkCanonicalValues({ info: { sizes: [1, 2.5] } }),
        matrixError(400, 'M_BAD_JSON', /info\.sizes\[1\]: only integers/),
      );
      assert.throws(
        () => checkCanonicalValues({ 'm.relates_to': { score: 0.1 } }),
        matrixError(400, 'M_BAD_JSON', /m\\\.relates_to\.score/),
      );
    });

    it('names the path of an out-of-range integer', () => {
      assert.throws(
        () => checkCanonicalValues({ ts: 2 ** 53 }),
        matrixError(400, 'M_BAD_JSON', /at ts: integer outside/),
      );
    });
  });

  describe('checkStoredJsonValues (account data: stored, never hashed)', () => {
    it('accepts floats such as a tag order', () => {
      checkStoredJsonValues({ tags: { 'm.favourite': { order: 0.5 } }, big: 2 ** 60 });
    });

    it('still refuses lone surrogates and deep nesting, naming the path', () => {
      assert.throws(() => checkStoredJsonValues({ a: { b: '\ud800' } }), matrixError(400, 'M_BAD_JSON', /a\.b: string contains a lone surrogate/));
      let deep: unknown = 1;
      for (let i = 0; i < 600; i++) deep = { d: deep };
      assert.throws(() => checkStoredJsonValues(deep), matrixError(400, 'M_BAD_JSON', /nested deeper/));
    });
  });

  describe('content hash', () => {
    // Appendix "Cryptographic Test Vectors / Event Signing".
    const minimal = {
      room_id: '!x:domain',
      sender: '@a:domain',
      origin: 'domain',
      origin_server_ts: 1000000,
      signatures: {},
      hashes: {},
      type: 'X',
      content: {},
      prev_events: [],
      auth_events: [],
      depth: 3,
      unsigned: { age_ts: 1000000 },
    } as unknown as PduBody;
    const message = {
      content: { body: 'Here is the message content' },
      event_id: '$0:domain',
      origin: 'domain',
      origin_server_ts: 1000000,
      type: 'm.room.message',
      room_id: '!r:domain',
      sender: '@u:domain',
      signatures: {},
      unsigned: { age_ts: 1000000 },
    } as unknown as PduBody;

    it('matches the spec test vector for the minimal event', () => {
      assert.equal(contentHash(minimal), '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
    });

    it('matches the spec test vector for an event with redactable content', () => {
      assert.equal(contentHash(message), 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
    });

    it('excludes unsigned, signatures and hashes but covers content', () => {
      const base = pdu();
      const h = contentHash(base);
      assert.match(h, /^[A-Za-z0-9+/]{43}$/);
      assert.equal(contentHash({ ...base, unsigned: { age: 5 } }), h);
      assert.equal(contentHash({ ...base, signatures: { 'x.org': { 'ed25519:1': 'sig' } } }), h);
      assert.equal(contentHash({ ...base, hashes: { sha256: 'stale' } }), h);
      assert.notEqual(contentHash(pdu({ content: { msgtype: 'm.text', body: 'hello!' } })), h);
    });

    it('equals sha256 of the canonical JSON, unpadded base64', () => {
      const event = pdu({ content: { body: 'x' }, unsigned: { age: 1 } });
      const canonical =
        '{"auth_events":["$create","$member","$power"],"content":{"body":"x"},"depth":5,' +
        '"origin_server_ts":1700000000000,"prev_events":["$prev"],"room_id":"!room:example.org",' +
        '"sender":"@alice:example.org","type":"m.room.message"}';
      assert.equal(contentHash(event), unpadded(createHash('sha256').update(canonical).digest()));
    });

    it('withHashes sets hashes.sha256 and leaves the input alone', () => {
      const event = pdu({ hashes: { sha256: 'stale' } });
      const hashed = withHashes(event);
      assert.equal(hashed.hashes.sha256, contentHash(event));
      assert.equal(event.hashes?.sha256, 'stale');
      assert.deepEqual({ ...hashed, hashes: undefined }, { ...event, hashes: undefined });
    });

    // The spec's signatures are over the redacted event, whose rules for these events are
    // the same in v10 (which still keeps `origin`): a check of redaction + canonical JSON.
    it('reproduces the spec test vector signatures over the v10-redacted events', () => {
      const sign = specSigner();
      assert.equal(sign(canonicalJson({})), 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ');
      assert.equal(
        sign(canonicalJson({ one: 1, two: 'Two' })),
        'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
      );
      assert.equal(
        signEvent(withHashes(minimal) as unknown as Record<string, unknown>, '10'),
        'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg',
      );
      assert.equal(
        signEvent(withHashes(message) as unknown as Record<string, unknown>, '10'),
        'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA',
      );
      // v11 no longer keeps `origin`, so the same event signs differently.
      assert.notEqual(
        signEvent(withHashes(minimal) as unknown as Record<string, unknown>, '11'),
        'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg',
      );
    });
  });

  describe('eventIdFor (reference hash)', () => {
    for (const version of VERSIONS) {
      it(`v${version}: is $ + URL-safe unpadded base64 of sha256 over the redacted event`, () => {
        const event = withHashes(pdu({ unsigned: { age: 1 }, signatures: { 'example.org': { 'ed25519:a': 'sig' } } }));
        const canonical =
          '{"auth_events":["$create","$member","$power"],"content":{},"depth":5,' +
          `"hashes":{"sha256":"${event.hashes.sha256}"},"origin_server_ts":1700000000000,` +
          '"prev_events":["$prev"],"room_id":"!room:example.org","sender":"@alice:example.org",' +
          '"type":"m.room.message"}';
        const expected = `$${createHash('sha256').update(canonical).digest('base64url')}`;
        assert.equal(eventIdFor(event, version), expected);
        assert.match(expected, /^\$[A-Za-z0-9_-]{43}$/);
      });

      it(`v${version}: is stable under unsigned, signatures and a carried event_id`, () => {
        const event = withHashes(pdu());
        const id = eventIdFor(event, version);
        assert.equal(eventIdFor({ ...event, unsigned: { age: 99, transaction_id: 't' } }, version), id);
        assert.equal(eventIdFor({ ...event, signatures: { 'a.org': { 'ed25519:x': 'y' } } }, version), id);
        assert.equal(eventIdFor({ ...event, event_id: id } as PduBody, version), id);
      });

      it(`v${version}: changes when content changes, through the content hash`, () => {
        const a = eventIdFor(withHashes(pdu()), version);
        const b = eventIdFor(withHashes(pdu({ content: { msgtype: 'm.text', body: 'bye' } })), version);
        assert.notEqual(a, b);
        // Without hashes a message's content is redacted away from the reference hash.
        assert.equal(eventIdFor(pdu(), version), eventIdFor(pdu({ content: { body: 'other' } }), version));
      });

      it(`v${version}: changes when a kept field changes`, () => {
        const a = eventIdFor(withHashes(pdu()), version);
        assert.notEqual(eventIdFor(withHashes(pdu({ depth: 6 })), version), a);
        assert.notEqual(eventIdFor(withHashes(pdu({ prev_events: ['$other'] })), version), a);
      });
    }

    it('differs between v10 and v11 where redaction differs', () => {
      const power = pdu({ type: 'm.room.power_levels', state_key: '', content: { invite: 50, users: {} } });
      assert.notEqual(eventIdFor(power, '10'), eventIdFor(power, '11'));
      const message = withHashes(pdu());
      assert.equal(eventIdFor(message, '10'), eventIdFor(message, '11'));
    });

    // eventIdFor hashes a redacted view that shares the event's values instead of copying them.
    for (const version of ['10', '11'] as const) {
      it(`v${version}: is the hash of redactEvent's copy, and leaves the event alone`, () => {
        const create = withHashes(pdu({ type: 'm.room.create', state_key: '', content: { room_version: version, predecessor: { room_id: '!old:b' } } }));
        const power = withHashes(pdu({ type: 'm.room.power_levels', state_key: '', content: { users: { '@a:b': 100 }, invite: 0, other: { x: 1 } } }));
        for (const event of [create, power, withHashes(pdu())]) {
          const before = structuredClone(event);
          const copy = redactEvent(event, version) as unknown as Record<string, unknown>;
          delete copy.signatures;
          delete copy.unsigned;
          delete copy.event_id;
          const expected = `$${createHash('sha256').update(canonicalJson(copy)).digest('base64url')}`;
          assert.equal(eventIdFor(event, version), expected);
          assert.deepEqual(event, before);
        }
      });
    }
  });

  describe('redaction', () => {
    const full = (type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...pdu({ type, content, state_key: '' }),
      event_id: '$id',
      hashes: { sha256: 'abc' },
      signatures: { 'example.org': { 'ed25519:a': 'sig' } },
      unsigned: { age: 1 },
      origin: 'example.org',
      membership: 'join',
      prev_state: [],
      junk: 'x',
      ...extra,
    });

    it('v10 keeps the v9 top-level keys, including origin, membership, prev_state', () => {
      const r = redactEvent(full('m.room.message', { body: 'x' }), '10');
      assert.deepEqual(Object.keys(r).sort(), [
        'auth_events', 'content', 'depth', 'event_id', 'hashes', 'membership', 'origin',
        'origin_server_ts', 'prev_events', 'prev_state', 'room_id', 'sender', 'signatures',
        'state_key', 'type',
      ]);
    });

    it('v11 no longer keeps origin, membership, prev_state', () => {
      const r = redactEvent(full('m.room.message', { body: 'x' }), '11');
      assert.deepEqual(Object.keys(r).sort(), [
        'auth_events', 'content', 'depth', 'event_id', 'hashes', 'origin_server_ts', 'prev_events',
        'room_id', 'sender', 'signatures', 'state_key', 'type',
      ]);
    });

    for (const version of VERSIONS) {
      it(`v${version}: an ordinary message keeps no content`, () => {
        const r = redactEvent(pdu({ content: { msgtype: 'm.text', body: 'secret', 'm.relates_to': {} } }), version);
        assert.deepEqual(r.content, {});
      });

      it(`v${version}: always leaves a content object`, () => {
        const r = redactEvent({ type: 'm.room.message', sender: '@a:b' }, version);
        assert.deepEqual(r, { type: 'm.room.message', sender: '@a:b', content: {} });
      });

      it(`v${version}: returns a deep copy and leaves the input alone`, () => {
        const event = full('m.room.power_levels', { users: { '@a:b': 100 }, notifications: { room: 50 } });
        const before = structuredClone(event);
        const r = redactEvent(event, version);
        (r.content.users as Record<string, number>)['@a:b'] = 0;
        r.prev_events.push('$x');
        assert.deepEqual(event, before);
      });

      it(`v${version}: join_rules keeps join_rule and allow`, () => {
        const allow = [{ type: 'm.room_membership', room_id: '!space:example.org' }];
        assert.deepEqual(
          redactContent('m.room.join_rules', { join_rule: 'restricted', allow, other: 1 }, version),
          { join_rule: 'restricted', allow },
        );
      });

      it(`v${version}: member keeps membership and join_authorised_via_users_server`, () => {
        const content = {
          membership: 'join',
          join_authorised_via_users_server: '@mod:example.org',
          displayname: 'Alice',
          avatar_url: 'mxc://x/y',
          reason: 'hi',
        };
        const r = redactContent('m.room.member', content, version);
        assert.deepEqual(r, { membership: 'join', join_authorised_via_users_server: '@mod:example.org' });
      });

      it(`v${version}: history_visibility keeps history_visibility`, () => {
        assert.deepEqual(
          redactContent('m.room.history_visibility', { history_visibility: 'shared', x: 1 }, version),
          { history_visibility: 'shared' },
        );
      });

      it(`v${version}: other state events keep nothing`, () => {
        assert.deepEqual(redactContent('m.room.name', { name: 'Room' }, version), {});
        assert.deepEqual(redactContent('m.room.topic', { topic: 'T' }, version), {});
      });
    }

    const power = {
      ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50,
      redact: 50, state_default: 50, users: { '@a:b': 100 }, users_default: 0,
      notifications: { room: 50 }, extra: true,
    };

    it('v10 power_levels drops invite and notifications', () => {
      const { invite: _invite, notifications: _n, extra: _e, ...expected } = power;
      assert.deepEqual(redactContent('m.room.power_levels', power, '10'), expected);
    });

    it('v11 power_levels keeps invite', () => {
      const { notifications: _n, extra: _e, ...expected } = power;
      assert.deepEqual(redactContent('m.room.power_levels', power, '11'), expected);
    });

    const create = {
      creator: '@a:b', room_version: '10', 'm.federate': false,
      predecessor: { room_id: '!old:b', event_id: '$e' }, type: 'm.space',
    };

    it('v10 create keeps only creator', () => {
      assert.deepEqual(redactContent('m.room.create', create, '10'), { creator: '@a:b' });
    });

    it('v11 create keeps all content', () => {
      assert.deepEqual(redactContent('m.room.create', create, '11'), create);
      assert.notEqual(redactContent('m.room.create', create, '11'), create);
    });

    it('v10 redaction keeps no content and drops top-level redacts', () => {
      const event = pdu({ type: 'm.room.redaction', redacts: '$target', content: { reason: 'spam' } });
      const r = redactEvent(event, '10');
      assert.deepEqual(r.content, {});
      assert.equal(r.redacts, undefined);
    });

    it('v11 redaction keeps content.redacts', () => {
      const event = pdu({ type: 'm.room.redaction', content: { redacts: '$target', reason: 'spam' } });
      assert.deepEqual(redactEvent(event, '11').content, { redacts: '$target' });
    });

    it('v11 member keeps only signed of third_party_invite; v10 drops it', () => {
      const content = {
        membership: 'invite',
        third_party_invite: { display_name: 'bob', signed: { mxid: '@b:c', token: 't', signatures: {} } },
      };
      assert.deepEqual(redactContent('m.room.member', content, '11'), {
        membership: 'invite',
        third_party_invite: { signed: { mxid: '@b:c', token: 't', signatures: {} } },
      });
      assert.deepEqual(redactContent('m.room.member', content, '10'), { membership: 'invite' });
    });
  });

  describe('checkEventSize', () => {
    it('accepts an ordinary event', () => {
      checkEventSize(withHashes(pdu()));
    });

    it('limits sender, room_id, type, state_key to 255 bytes, counted in UTF-8', () => {
      checkEventSize(pdu({ state_key: 'x'.repeat(255) }));
      for (const key of ['sender', 'room_id', 'type', 'state_key'] as const) {
        assert.throws(
          () => checkEventSize(pdu({ [key]: 'x'.repeat(256) })),
          matrixError(413, 'M_TOO_LARGE', new RegExp(key)),
        );
      }
      // 128 characters but 256 bytes.
      assert.throws(() => checkEventSize(pdu({ state_key: 'é'.repeat(128) })), matrixError(413, 'M_TOO_LARGE'));
    });

    it('limits the whole canonical event, signatures included, to 65536 bytes', () => {
      const at = (bodyLength: number) => pdu({ content: { body: 'x'.repeat(bodyLength) } });
      const overhead = Buffer.byteLength(canonicalJson(at(0)));
      checkEventSize(at(65536 - overhead));
      assert.throws(() => checkEventSize(at(65537 - overhead)), matrixError(413, 'M_TOO_LARGE'));
      const signed = { ...at(65536 - overhead), signatures: { 'a.org': { 'ed25519:1': 'sig' } } };
      assert.throws(() => checkEventSize(signed), matrixError(413, 'M_TOO_LARGE'));
    });

    it('counts multi-byte characters as their UTF-8 bytes', () => {
      const overhead = Buffer.byteLength(canonicalJson(pdu({ content: { body: '' } })));
      const chars = Math.ceil((65537 - overhead) / 3); // '日' is 3 bytes
      assert.throws(() => checkEventSize(pdu({ content: { body: '日'.repeat(chars) } })), matrixError(413, 'M_TOO_LARGE'));
    });

    it('rejects a float in content with 400 M_BAD_JSON naming the path', () => {
      assert.throws(
        () => checkEventSize(pdu({ content: { body: 'x', rating: 4.5 } })),
        matrixError(400, 'M_BAD_JSON', /content\.rating/),
      );
    });

    it('rejects a non-string key with 400 M_BAD_JSON', () => {
      assert.throws(() => checkEventSize(pdu({ type: 5 as unknown as string })), matrixError(400, 'M_BAD_JSON'));
    });
  });
});
