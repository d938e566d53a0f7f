/**
 * `overlay join CODE`, the joiner's side: run the join protocol (core/overlayWire's JoinAttempt)
 * over a UDP socket of its own — no interface, no root — and, only when the inviter accepts, write
 * the new member's state. Any failure leaves the state directory exactly as it was.
 */

import dgram from 'node:dgram';
import { formatEndpoint, parseEndpoint } from '../base/endpoint.js';
import { encodeKey } from '../base/keys.js';
import { SKEW_HINT } from '../clockSkew.js';
import { OverlayError } from '../errors.js';
import { IdentityStore } from '../identity/identityStore.js';
import { inviteId, parseInviteCode } from '../membership/inviteCode.js';
import type { Network } from '../membership/network.js';
import { Roster } from '../membership/roster.js';
import { JoinAttempt, type JoinEvent, type JoinRejectReason, type JoinResult } from '../overlayWire/index.js';
import { decodeJoinAccept } from './joinAccept.js';
import { NodeState } from './nodeState.js';

export interface JoinOptions {
  stateDir: string;
  code: string;
  name: string;
  listenPort: number;
  onEvent?: (e: JoinEvent) => void;
  retryDelaysMs?: readonly number[];
  /** The joiner's UDP socket: a real one (udpJoinSocket) unless a test gives its twin. */
  openSocket?: OpenJoinSocket;
  /**
   * Where the network the inviter answered with goes, once known and before anything is written:
   * its state directory (new keys are kept there when it is not `stateDir`) and interface. It
   * throws to refuse the network (a range that clashes on this host). Absent: `stateDir`.
   */
  place?: (network: Network) => { stateDir: string; interface?: string };
}

/** What the join protocol needs of a UDP socket; `to` and `from` are endpoint text. */
export interface JoinSocket {
  send(bytes: Uint8Array, to: string): void;
  close(): void;
}

export type OpenJoinSocket = (
  ipv6: boolean,
  on: { ready: () => void; message: (bytes: Uint8Array, from: string) => void; error: (e: Error) => void },
) => JoinSocket;

export interface Joined {
  /** Where the new member's state went. */
  stateDir: string;
  name: string;
  /** The network's name, as the inviter gave it: members are MEMBER.NETWORK.internal. */
  network: string;
  ipv4: string;
  ipv6: string;
  inviter: string;
}

const REJECTIONS: Record<JoinRejectReason, { message: string; hint: string }> = {
  used: { message: 'this invite code has been used already', hint: 'ask for a new invite code' },
  expired: { message: 'this invite code has expired', hint: 'ask for a new invite code' },
  revoked: { message: 'this invite code was revoked', hint: 'ask for a new invite code' },
  unknown: { message: 'the inviter does not know this invite code', hint: 'ask for a new invite code' },
  'name-taken': { message: 'another member already has this name', hint: 'choose another with --name' },
  'bad-secret': {
    message: 'the inviter does not accept this code (is it from another network?)',
    hint: 'ask for a new invite code',
  },
  other: { message: 'the inviter could not admit this node', hint: 'ask the inviter to check its log' },
  'key-taken': {
    message: "this node's keys already belong to a member",
    hint: 'to join again as a new member, leave with new keys first: overlay leave',
  },
  'bad-signature': {
    message: 'the inviter could not verify the join request',
    hint: 'update overlay on both nodes',
  },
  'bad-name': { message: 'the inviter does not accept this name', hint: 'choose another with --name' },
  kicked: {
    message: 'this node was kicked from the network',
    hint: 'only new keys can join again: overlay leave, then join with an admin’s new invite',
  },
  'clock-skew': {
    message: "this machine's clock and the inviter's disagree by more than overlay allows",
    hint: `${SKEW_HINT}, then join again`,
  },
};

/**
 * The refusal as the joiner sees it: what the reason means, then the inviter's own words, which
 * say which name or key was the problem. JoinAttempt has already cut those to printable ASCII, so
 * an inviter cannot write escape sequences to this terminal.
 */
export function rejectionError(reason: JoinRejectReason, inviterSays: string): OverlayError {
  const { message, hint } = REJECTIONS[reason];
  return new OverlayError('EJOIN', inviterSays ? `${message}; the inviter says: ${inviterSays}` : message, {
    hint,
  });
}

export async function join(options: JoinOptions): Promise<Joined> {
  // The code is checked before anything else, so a typo costs no packet and no file.
  const invite = parseInviteCode(options.code);
  const existing = NodeState.open(options.stateDir);
  if (existing) {
    assertNotRemoved(existing, options.stateDir);
    throw new OverlayError('EUSAGE', `this node already belongs to a network (${options.stateDir})`, {
      hint: 'leave it first (overlay leave), or use another --state-dir to join a second network',
    });
  }
  const prepared = IdentityStore.openOrPrepare(options.stateDir);
  const keys = prepared.identity.keys;
  const attempt = new JoinAttempt({
    invite: {
      inviteId: inviteId(invite.secret),
      secret: invite.secret,
      inviterKeyHash: invite.inviterKeyHash,
      endpoints: invite.endpoints,
    },
    keys: { wireguard: keys.wireguard, signing: keys.signing },
    name: options.name,
    listenPort: options.listenPort,
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
  });
  const result = await runAttempt(
    attempt,
    invite.endpoints.some((e) => e.startsWith('[')),
    options.openSocket ?? udpJoinSocket,
    options.onEvent,
  );
  if (!result.ok) {
    if (result.reason === 'unreachable') {
      throw new OverlayError('EJOIN', `no answer from the inviter at ${invite.endpoints.join(', ')}`, {
        hint: "is the inviter's node up (overlay up), and can this machine reach its UDP port?",
      });
    }
    if (result.rejectReason === 'clock-skew') {
      // The detail is the joiner's own measure of the skew, made from the reply's timestamp.
      throw new OverlayError('EJOIN', result.detail, { hint: `${SKEW_HINT}, then join again` });
    }
    throw rejectionError(result.rejectReason, result.detail);
  }
  const accepted = decodeJoinAccept(result.accept);
  if (!accepted.ok) throw new OverlayError('EJOIN', `the inviter's answer is malformed (${accepted.reason})`);
  const roster = new Roster(accepted.value.network);
  const now = Date.now();
  for (const record of accepted.value.records) roster.offer(record, now);
  const self = roster.memberByWireguardKey(keys.wireguard.publicKey, now);
  if (!self) throw new OverlayError('EJOIN', "the inviter's answer holds no valid certificate for this node");
  const placed = options.place?.(accepted.value.network) ?? { stateDir: options.stateDir };
  if (placed.stateDir !== options.stateDir && prepared.existing) {
    throw new OverlayError(
      'EINTERNAL',
      `a join placed in ${placed.stateDir} with the keys of ${options.stateDir}`,
    );
  }
  const store = prepared.persist(placed.stateDir);
  NodeState.create(
    placed.stateDir,
    {
      network: accepted.value.network,
      networkSecretKey: null,
      listenPort: options.listenPort,
      announce: [],
      relay: true,
      stun: [],
      dns: true,
      ...(placed.interface !== undefined && { interface: placed.interface }),
    },
    roster,
  );
  store.setName(self.certificate.name);
  const inviter = roster.memberByWireguardKey(result.inviterPublicKey, now);
  return {
    stateDir: placed.stateDir,
    name: self.certificate.name,
    network: accepted.value.network.name,
    ipv4: self.certificate.ipv4,
    ipv6: self.certificate.ipv6,
    inviter: inviter?.certificate.name ?? encodeKey(result.inviterPublicKey),
  };
}

/** Drives the state machine with a socket and the real clock until it gives a result. */
function runAttempt(
  attempt: JoinAttempt,
  ipv6: boolean,
  open: OpenJoinSocket,
  onEvent: ((e: JoinEvent) => void) | undefined,
): Promise<JoinResult> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: JoinResult) => {
      if (timer) clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const apply = (step: ReturnType<JoinAttempt['tick']>) => {
      for (const e of step.events) onEvent?.(e);
      for (const { to, bytes } of step.send) socket.send(bytes, to);
      if (step.result) return finish(step.result);
      if (timer) clearTimeout(timer);
      if (step.nextWakeAt !== null) {
        timer = setTimeout(() => apply(attempt.tick(Date.now())), Math.max(0, step.nextWakeAt - Date.now()));
      }
    };
    const socket = open(ipv6, {
      ready: () => apply(attempt.start(Date.now())),
      message: (bytes, from) => apply(attempt.receive(bytes, from, Date.now())),
      error: (e) => {
        if (timer) clearTimeout(timer);
        socket.close();
        reject(new OverlayError('EJOIN', `cannot use a UDP socket: ${e.message}`, { cause: e }));
      },
    });
  });
}

/** A UDP socket of its own on any port; `ready` once it is bound. */
export const udpJoinSocket: OpenJoinSocket = (ipv6, on) => {
  const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: false });
  socket.on('message', (msg, rinfo) => {
    const address = rinfo.address.replace(/^::ffff:(?=[\d.]+$)/, '');
    on.message(new Uint8Array(msg), formatEndpoint({ address, port: rinfo.port }));
  });
  socket.on('error', on.error);
  socket.bind(0, on.ready);
  return {
    send: (bytes, to) => {
      const ep = parseEndpoint(to);
      if (ep) socket.send(bytes, ep.port, ep.address);
    },
    close: () => socket.close(),
  };
};

/**
 * Refuses a join by a node whose network removed it (kicked, expired) while its state is still
 * there: the way out is `overlay leave`, not a second network beside the dead one.
 */
export function assertNotRemoved(state: NodeState, stateDir: string): void {
  if (stillMember(state, stateDir)) return;
  throw new OverlayError(
    'EUSAGE',
    `this node was removed from its network (kicked or expired), and its state is still in ${stateDir}`,
    { hint: 'remove it first: overlay leave' },
  );
}

/** Whether the node of `stateDir` still counts as a member of its network; true when unsure. */
function stillMember(state: NodeState, stateDir: string): boolean {
  try {
    const { identity } = IdentityStore.openOrPrepare(stateDir);
    return (
      state.loadRoster().memberByWireguardKey(identity.keys.wireguard.publicKey, Date.now()) !== undefined
    );
  } catch {
    return true;
  }
}
