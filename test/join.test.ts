/**
 * `overlay join` with every kind of bad code or refusal, as root in namespaces this file makes:
 * each is one clear line and a non-zero exit, and leaves the joiner's state directory byte for
 * byte as it was. And two joiners racing for a single-use code: exactly one wins.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import nacl from 'tweetnacl';
import { decodeKey } from '../core/identity/keys.js';
import { encodeInviteCode } from '../core/membership/inviteCode.js';
import type { NodeStatus } from '../core/node/status.js';
import { lan, OverlayHost } from './helpers/lan.js';
import { rootTest } from './helpers/root.js';

/** Every file of a directory and its bytes, or null if it does not exist. */
function snapshot(dir: string): Record<string, string> | null {
  if (!existsSync(dir)) return null;
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

async function inviterAndJoiners(t: ExecutionContext, tag: string, joiners: number) {
  const { hosts } = lan(t, tag, joiners + 1);
  const root = mkdtempSync(join(tmpdir(), 'ovl-join-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = new OverlayHost(hosts[0]!, join(root, 'a'));
  await a.ok(['init', '--name', 'a']);
  await a.ok(['up']);
  const others = hosts.slice(1).map((h, i) => new OverlayHost(h, join(root, `j${i}`)));
  return { a, others };
}

const FAST = { OVERLAY_TEST_JOIN_RETRY_MS: '200,200,200' };

/** Runs a join that must fail; checks one line, the exit code, and an untouched state dir. */
async function failingJoin(
  t: ExecutionContext,
  joiner: OverlayHost,
  code: string,
  expect: { exit: number; message: RegExp; name?: string },
): Promise<void> {
  const before = snapshot(joiner.stateDir);
  const r = await joiner.run(['join', code, '--name', expect.name ?? 'late'], 30_000, FAST);
  t.is(r.code, expect.exit, r.stderr);
  t.regex(r.stderr, expect.message);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.deepEqual(snapshot(joiner.stateDir), before, 'the state directory is exactly as it was');
}

rootTest(
  test,
  'a mistyped or malformed code is refused before any packet, leaving the store as it was',
  async (t) => {
    const { a, others } = await inviterAndJoiners(t, 'jt', 1);
    const j = others[0]!;
    await j.ok(['whoami']); // an identity exists: it must survive unchanged too
    const { code } = await a.json<{ code: string }>(['invite']);
    const i = code.length - 3;
    const typo = code.slice(0, i) + (code[i] === 'a' ? 'b' : 'a') + code.slice(i + 1);
    await failingJoin(t, j, typo, { exit: 2, message: /mistyped|typo/i });
    await failingJoin(t, j, code.replace('ovl1-', 'ovl9-'), { exit: 2, message: /invite/i });
    await failingJoin(t, j, 'hello', { exit: 2, message: /invite/i });
    const counters = (await a.json<NodeStatus>(['status'])).counters;
    t.is(counters['rxControl'], 0, 'the inviter received nothing');
  },
);

rootTest(
  test,
  'used, expired and revoked codes are refused with the reason; the store stays as it was',
  async (t) => {
    const { a, others } = await inviterAndJoiners(t, 'jr', 2);
    const [first, late] = others as [OverlayHost, OverlayHost];
    const used = await a.json<{ code: string }>(['invite']);
    await first.ok(['join', used.code, '--name', 'first']);
    await late.ok(['whoami']);
    await failingJoin(t, late, used.code, { exit: 1, message: /used already/ });

    const expiring = await a.json<{ code: string }>(['invite', '--expires', '1s']);
    await new Promise((r) => setTimeout(r, 1500));
    await failingJoin(t, late, expiring.code, { exit: 1, message: /expired/ });

    const revoked = await a.json<{ code: string; id: string }>(['invite']);
    await a.ok(['invite', 'revoke', revoked.id]);
    await failingJoin(t, late, revoked.code, { exit: 1, message: /revoked/ });
  },
);

rootTest(
  test,
  'a tampered code and an unreachable inviter fail after bounded retries; nothing is written',
  async (t) => {
    const { a, others } = await inviterAndJoiners(t, 'ju', 1);
    const j = others[0]!;
    const status = await a.json<NodeStatus>(['status']);
    // A well-formed code with a valid checksum, for a's key and address, but a secret a never issued.
    const tampered = encodeInviteCode({
      secret: nacl.randomBytes(16),
      inviterWireguardKey: decodeKey(status.self.publicKey, 32, 'key'),
      endpoints: status.self.endpoints,
    }).code;
    await failingJoin(t, j, tampered, { exit: 1, message: /no answer from the inviter/ });
    t.is(snapshot(j.stateDir), null, 'not even the state directory was made');

    const { code } = await a.json<{ code: string }>(['invite']);
    await a.ok(['down']);
    await failingJoin(t, j, code, { exit: 1, message: /no answer from the inviter at 192\.0\.2\.1:51820/ });
  },
);

rootTest(test, 'two joiners racing for a single-use code: exactly one wins', async (t) => {
  const { a, others } = await inviterAndJoiners(t, 'jx', 2);
  const { code } = await a.json<{ code: string }>(['invite']);
  const results = await Promise.all(
    others.map((j, i) => j.run(['join', code, '--name', `racer${i}`], 30_000, FAST)),
  );
  const codes = results.map((r) => r.code).sort();
  t.deepEqual(codes, [0, 1], results.map((r) => r.stderr).join('\n'));
  t.regex(results.find((r) => r.code === 1)!.stderr, /used already/);
  const s = await a.json<NodeStatus>(['status']);
  t.is(s.peers.filter((p) => p.name.startsWith('racer')).length, 1);
});

rootTest(
  test,
  'a join refused for a taken name says why in the inviter’s words, and the same code then admits',
  async (t) => {
    const { a, others } = await inviterAndJoiners(t, 'jn', 1);
    const j = others[0]!;
    const { code } = await a.json<{ code: string }>(['invite']);
    // The inviter's own reason, in one line, and the state directory as it was.
    await failingJoin(t, j, code, { exit: 1, message: /the inviter says: the name "a" is taken/, name: 'a' });
    const invites = await a.json<{ usesLeft: number }[]>(['invite', 'list']);
    t.is(invites[0]?.usesLeft, 1, 'the refused join did not spend the single use');
    await j.ok(['join', code, '--name', 'late']);
  },
);
