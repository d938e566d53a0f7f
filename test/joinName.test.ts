/**
 * `overlay join --name`: a name certificates would refuse is refused by the CLI itself, with one
 * usage line, before any packet leaves and before anything is written — so a typo costs neither
 * the invite's use nor a half-made state directory. No root: the "inviter" is a UDP socket on
 * loopback that only counts what reaches it.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { isMemberName } from '../core/membership/certificate.js';
import { encodeInviteCode } from '../core/membership/inviteCode.js';
import { defaultMemberName } from '../core/node/defaultName.js';
import { runCli } from './helpers/cli.js';

async function listener(t: { teardown(fn: () => void): void }) {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  return { port: socket.address().port, received };
}

for (const name of ['Bob', 'a--b', 'x'.repeat(64), '', '-a', 'a b', 'caf\u00e9', 'a\u001b[31m']) {
  test(`join --name ${JSON.stringify(name)} is a one-line usage error before any packet or file`, async (t) => {
    const inviter = await listener(t);
    const { code } = encodeInviteCode({
      secret: nacl.randomBytes(16),
      inviterWireguardKey: nacl.randomBytes(32),
      endpoints: [`127.0.0.1:${inviter.port}`],
    });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-joinname-'));
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
    const stateDir = path.join(root, 'state');
    // --name=VALUE, so that a name starting with a dash reaches the check rather than the flag parser.
    const r = await runCli(['join', code, `--name=${name}`, '--state-dir', stateDir], {
      env: { OVERLAY_TEST_JOIN_RETRY_MS: '100,100' },
      timeoutMs: 60_000, // the machine may be busy; a refusal takes well under a second
    });
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    t.regex(r.stderr, /^overlay: --name .* is not a member name/);
    t.false(r.stderr.includes('\u001b'), 'the name is not echoed raw to the terminal');
    t.false(fs.existsSync(stateDir), 'nothing was written');
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.is(inviter.received.length, 0, 'no packet was sent');
  });
}

test('the default name made from any hostname is a valid member name', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (hostname) =>
      isMemberName(defaultMemberName(hostname)),
    ),
  );
  for (const hostname of ['Bob-Laptop.local', 'a--b', '---', '', 'x'.repeat(80), 'Ünïcode', '-a-.b']) {
    t.true(isMemberName(defaultMemberName(hostname)), hostname);
  }
});
