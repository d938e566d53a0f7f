/**
 * A joiner and an inviter over a simulated link, with the glue a node puts around JoinResponder:
 * classify the datagram, answer a query in clear, open a sealed request, seal the reply.
 */
import nacl from 'tweetnacl';
import { classifyDatagram } from '../../core/overlayWire/index.js';
import { inviterKeyHash } from '../../core/overlayWire/inviterKeyHash.js';
import { JoinAttempt, type JoinEvent, type JoinResult } from '../../core/overlayWire/joinAttempt.js';
import { encodeJoinQueryReply } from '../../core/overlayWire/joinQuery.js';
import { JoinResponder, type RedeemResult } from '../../core/overlayWire/joinResponder.js';
import { SealedChannel, type SealedDropReason } from '../../core/overlayWire/sealed.js';

export const NOW = 1_750_000_000_000;
export const INVITER_ADDRESS = '192.0.2.1:51820';

export interface Invite {
  secret: Uint8Array;
  uses: number;
  expiresAt: number;
  revoked: boolean;
}

export class Inviter {
  readonly keys = nacl.box.keyPair();
  readonly channel = new SealedChannel({ privateKey: this.keys.secretKey, publicKey: this.keys.publicKey });
  readonly invites = new Map<string, Invite>();
  readonly members = new Set<string>();
  redemptions = 0;
  readonly dropped: SealedDropReason[] = [];
  readonly responder = new JoinResponder({
    publicKey: this.keys.publicKey,
    isKnownInvite: (id) => this.invites.has(id),
    redeem: (id, secret, joiner, now) => this.redeem(id, secret, joiner.name, now),
  });

  addInvite(id: string, options: Partial<Invite> = {}): Invite {
    const invite = {
      secret: nacl.randomBytes(16),
      uses: 1,
      expiresAt: NOW + 3_600_000,
      revoked: false,
      ...options,
    };
    this.invites.set(id, invite);
    return invite;
  }

  /** What the node does with a datagram from `from`; returns the datagrams it sends back. */
  receive(datagram: Uint8Array, now: number): Uint8Array[] {
    switch (classifyDatagram(datagram)) {
      case 'joinQuery': {
        const answer = this.responder.answerQuery(datagram, 'joiner', now);
        return answer.ok ? [answer.reply] : [];
      }
      case 'sealed': {
        if (!this.responder.expectsJoinFrom('joiner', now)) return [];
        const opened = this.channel.open(datagram, now, { standing: 'stranger' });
        if (!opened.ok) {
          this.dropped.push(opened.reason);
          return [];
        }
        if (opened.message.kind !== 'joinRequest') return [];
        const reply = this.responder.answerRequest(
          opened.senderPublicKey,
          opened.message,
          'joiner',
          now,
          opened.sentAt,
        );
        return [this.channel.seal(opened.senderPublicKey, reply, now, 'stranger')];
      }
      default:
        return [];
    }
  }

  private redeem(id: string, secret: Uint8Array, name: string, now: number): RedeemResult {
    this.redemptions++;
    const invite = this.invites.get(id);
    if (invite === undefined) return { ok: false, reason: 'unknown' };
    if (!nacl.verify(invite.secret, secret)) return { ok: false, reason: 'bad-secret' };
    if (invite.revoked) return { ok: false, reason: 'revoked', detail: 'this invite was revoked' };
    if (now > invite.expiresAt) return { ok: false, reason: 'expired', detail: 'this invite has expired' };
    if (invite.uses <= 0) return { ok: false, reason: 'used', detail: 'this invite has already been used' };
    if (this.members.has(name))
      return { ok: false, reason: 'name-taken', detail: `the name "${name}" is taken` };
    invite.uses--;
    this.members.add(name);
    return { ok: true, acceptBytes: new TextEncoder().encode(`certificate for ${name}`) };
  }
}

/** Someone else at an address in the code: answers every query with its own key. */
export class Impostor {
  readonly keys = nacl.box.keyPair();
  receive(datagram: Uint8Array): Uint8Array[] {
    if (classifyDatagram(datagram) !== 'joinQuery') return [];
    const id = Buffer.from(datagram.subarray(2, 2 + datagram[1]!)).toString('latin1');
    return [encodeJoinQueryReply(id, this.keys.publicKey)];
  }
}

export function joiner(
  inviter: Inviter,
  inviteId: string,
  options: { secret?: Uint8Array; name?: string; endpoints?: string[] } = {},
): JoinAttempt {
  const wg = nacl.box.keyPair();
  return new JoinAttempt({
    invite: {
      inviteId,
      secret: options.secret ?? inviter.invites.get(inviteId)?.secret ?? new Uint8Array(16),
      inviterKeyHash: inviterKeyHash(inviter.keys.publicKey),
      endpoints: options.endpoints ?? [INVITER_ADDRESS],
    },
    keys: { wireguard: { privateKey: wg.secretKey, publicKey: wg.publicKey }, signing: nacl.sign.keyPair() },
    name: options.name ?? 'b',
    listenPort: 51821,
  });
}

export interface Link {
  /** Hosts by address; a datagram to an unknown address is lost. */
  readonly hosts: Map<string, { receive(datagram: Uint8Array, now: number): Uint8Array[] }>;
  /** Return true to lose the n-th datagram (counted per direction) of the given first byte. */
  lose?: (direction: 'out' | 'back', type: number, n: number) => boolean;
}

export interface Outcome {
  result: JoinResult;
  events: JoinEvent[];
  elapsedMs: number;
}

/** Runs the attempt to its end over the link, advancing simulated time to each wake-up. */
export function run(attempt: JoinAttempt, link: Link, start = NOW): Outcome {
  const counts = new Map<string, number>();
  const lost = (direction: 'out' | 'back', type: number) => {
    const key = `${direction}/${type}`;
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    return link.lose?.(direction, type, n) ?? false;
  };
  const events: JoinEvent[] = [];
  let now = start;
  let step = attempt.start(now);
  for (let guard = 0; guard < 1_000; guard++) {
    events.push(...step.events);
    if (step.result !== undefined) return { result: step.result, events, elapsedMs: now - start };
    const replies: { from: string; bytes: Uint8Array }[] = [];
    for (const { to, bytes } of step.send) {
      if (lost('out', bytes[0]!)) continue;
      for (const back of link.hosts.get(to)?.receive(bytes, now + 10) ?? []) {
        if (!lost('back', back[0]!)) replies.push({ from: to, bytes: back });
      }
    }
    if (replies.length > 0) {
      now += 20;
      const steps = replies.map((r) => attempt.receive(r.bytes, r.from, now));
      const last = steps.at(-1)!;
      step = {
        send: steps.flatMap((s) => s.send),
        events: steps.flatMap((s) => s.events),
        nextWakeAt: last.nextWakeAt,
        ...(steps.find((s) => s.result)?.result ? { result: steps.find((s) => s.result)!.result! } : {}),
      };
      continue;
    }
    if (step.nextWakeAt === null) break;
    now = Math.max(now, step.nextWakeAt);
    step = attempt.tick(now);
  }
  throw new Error('the join attempt did not end');
}
