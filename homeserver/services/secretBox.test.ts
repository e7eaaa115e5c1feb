import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from './secretBox.ts';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('seals with a fresh IV each time and opens what it sealed', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'totp:@a:x');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'totp:@a:x');
    assert.notEqual(a, b);
    assert.ok(!a.includes('JBSWY3DPEHPK3PXP'));
    assert.ok(SecretBox.isSealed(a) && !SecretBox.isSealed('JBSWY3DPEHPK3PXP'));
    assert.ok(a.startsWith(box.ownPrefix));
    assert.equal(SecretBox.keyIdOf(a), box.keyId);
    assert.equal(box.open(a, 'totp:@a:x'), 'JBSWY3DPEHPK3PXP');
  });

  it('does not open a value for another place, under another key, or altered', () => {
    const sealed = box.seal('secret', 'totp:@a:x');
    assert.equal(box.open(sealed, 'totp:@b:x'), null, 'copied into another row');
    assert.equal(new SecretBox(randomBytes(32)).open(sealed, 'totp:@a:x'), null, 'another key');
    const body = sealed.split('.');
    const flipped = Buffer.from(body[3], 'base64url');
    flipped[0] ^= 1;
    assert.equal(box.open([...body.slice(0, 3), flipped.toString('base64url')].join('.'), 'totp:@a:x'), null, 'altered');
    assert.equal(box.open('enc1.x', 'totp:@a:x'), null, 'truncated');
    assert.equal(box.open(`${box.ownPrefix}AAAA.AA`, 'totp:@a:x'), null, 'too short for a tag');
  });
});
