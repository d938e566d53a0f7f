/** The join protocol and the invite code must name the inviter's key the same way. */
import test from 'ava';
import nacl from 'tweetnacl';
import { inviterKeyHash as membershipHash } from '../../core/membership/inviteCode.js';
import { inviterKeyHash } from '../../core/overlayWire/inviterKeyHash.js';

test('the join protocol hashes the inviter key exactly as the invite code does', (t) => {
  for (let i = 0; i < 5; i++) {
    const key = nacl.box.keyPair().publicKey;
    t.deepEqual(inviterKeyHash(key), membershipHash(key));
  }
  t.is(inviterKeyHash(new Uint8Array(32)).length, 16);
});
