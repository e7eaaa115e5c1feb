/** Sync and pagination tokens: what goes out comes back the same, and bad tokens are a 400. */
import assert from 'node:assert/strict';
import { MatrixError } from '../../errors.ts';
import { decodePaginationToken, decodeSyncToken, encodePaginationToken, encodeSyncToken, maxToken, STREAMS, zeroToken, type SyncToken } from './tokens.ts';

const sample: SyncToken = { events: 1234, account_data: 5, receipts: 67, typing: 8, to_device: 901, device_lists: 2, presence: 345678901234567 };

describe('sync tokens', () => {
  it('round-trip every stream, in the documented form', () => {
    const text = encodeSyncToken(sample);
    assert.equal(text, 's1234_a5_r67_t8_d901_k2_p345678901234567');
    assert.deepEqual(decodeSyncToken(text), sample);
    assert.deepEqual(decodeSyncToken(encodeSyncToken(zeroToken())), zeroToken());
  });

  it('read streams a token leaves out as zero, skip letters this version does not know, and take parts in any order', () => {
    assert.deepEqual(decodeSyncToken('s7'), { ...zeroToken(), events: 7 });
    assert.deepEqual(decodeSyncToken('s7_p3_x99_a2'), { ...zeroToken(), events: 7, presence: 3, account_data: 2 });
  });

  it('refuse anything else with M_INVALID_PARAM', () => {
    for (const bad of ['', 's', 'x1', 's1_', 's1_a', 's1_A1', 's1234567890123456', 's1 _a1', 's-1', 't5']) {
      assert.throws(() => decodeSyncToken(bad), (e: unknown) => e instanceof MatrixError && e.status === 400 && e.errcode === 'M_INVALID_PARAM', bad);
    }
  });

  it('give a fresh zero token each time, and take the later position of each stream', () => {
    const a = zeroToken();
    a.events = 9;
    assert.equal(zeroToken().events, 0);
    const b: SyncToken = { ...sample, events: 1, typing: 100 };
    const m = maxToken(sample, b);
    assert.deepEqual(m, { ...sample, typing: 100 });
    assert.deepEqual(Object.keys(m).sort(), [...STREAMS].sort());
    assert.notEqual(m, sample);
  });

  it('pagination tokens take positions and sync tokens', () => {
    assert.equal(decodePaginationToken(encodePaginationToken(42)), 42);
    assert.equal(encodePaginationToken(-3), 't0');
    assert.equal(decodePaginationToken('s77_a1'), 77);
    assert.throws(() => decodePaginationToken('q1'), MatrixError);
  });
});
