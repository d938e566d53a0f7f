/**
 * What `overlay leave` refuses without --force (core/node/leave.ts leaveCost), and its question on
 * a terminal (cli/confirm.ts): leaving must not quietly take the network key or other members along.
 */
import { PassThrough } from 'node:stream';
import test from 'ava';
import { confirm } from '../../cli/confirm.js';
import { leaveCost } from '../../core/node/leave.js';
import { certFor, makeNetwork, makeNode, NOW } from '../membership/fixtures.js';

function world() {
  const net = makeNetwork(9);
  const a = makeNode('a', net.random);
  const n = makeNode('n', net.random);
  const deep = makeNode('deep', net.random);
  const phone = makeNode('phone', net.random);
  const other = makeNode('other', net.random);
  const offer = (r: Parameters<typeof net.roster.offer>[0]) => accepted(net.roster.offer(r, NOW + 1));
  offer(certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', admin: true }));
  offer(certFor(net, n, a.signing.secretKey, { ipv4: '100.80.1.2', admin: true }));
  offer(certFor(net, deep, n.signing.secretKey, { ipv4: '100.80.1.3' }));
  offer(certFor(net, other, net.founder.signing.secretKey, { ipv4: '100.80.1.4' }));
  // A plain WireGuard device the founder certified, carried by a.
  offer(
    certFor(net, phone, net.founder.signing.secretKey, {
      ipv4: '100.80.1.5',
      kind: 'wireguard',
      signingKey: null,
      via: a.signing.publicKey,
    }),
  );
  return { net, a, n, other };
}

function accepted(result: string): void {
  if (result !== 'accepted') throw new Error(`fixture record not accepted: ${result}`);
}

test('leaving as an admin names everyone below it in the chain, and the devices it carries', (t) => {
  const { net, a } = world();
  t.deepEqual(leaveCost(net.roster, false, a.signing.publicKey, NOW + 2), {
    holdsNetworkKey: false,
    admitted: ['deep', 'n'],
    carried: ['phone'],
  });
});

test('leaving as a plain member costs nothing; the founder is told it holds the network key', (t) => {
  const { net, other } = world();
  t.deepEqual(leaveCost(net.roster, false, other.signing.publicKey, NOW + 2), {
    holdsNetworkKey: false,
    admitted: [],
    carried: [],
  });
  t.true(leaveCost(net.roster, true, net.founder.signing.publicKey, NOW + 2).holdsNetworkKey);
});

for (const [answer, expected] of [
  ['y\n', true],
  ['YES\n', true],
  ['\n', false],
  ['n\n', false],
  ['yep\n', false],
  ['', false],
] as const) {
  test(`confirm: ${JSON.stringify(answer)} is ${expected ? 'yes' : 'no'}`, async (t) => {
    const input = new PassThrough();
    const output = new PassThrough();
    let asked = '';
    output.on('data', (d: Buffer) => {
      asked += d.toString();
    });
    const result = confirm('Leave?', input, output);
    input.end(answer);
    t.is(await result, expected);
    t.is(asked, 'Leave? [y/N] ');
  });
}
