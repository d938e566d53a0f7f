/**
 * Discovery's messages and their compact encoding. Each travels as the inner message of a sealed
 * datagram (core/overlayWire/sealed.ts), so only a member can send one and only its addressee can read
 * it; the first byte of the encoding is its inner kind (0x20–0x3f, reserved for discovery), so the
 * inner-message union can hand any of those kinds' bytes to decodeDiscovery as they are.
 *
 * Decoding junk yields a typed failure and never throws; every field is bounded and checked the same
 * way on both sides, so what we encode always decodes and nothing oversized ever does.
 */
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import { OverlayError } from '../errors.js';
import { ByteReader, ByteWriter } from '../overlayWire/byteCodec.js';
import {
  KIND_BIRTHDAY,
  KIND_BYE,
  KIND_CALL_ME_MAYBE,
  KIND_FILTER_TEST,
  KIND_INTRODUCE,
  KIND_INTRODUCE_REQUEST,
  KIND_OPENED,
  KIND_PING,
  KIND_PONG,
  MAX_CANDIDATE_LENGTH,
  MAX_CANDIDATES,
  MAX_DISCOVERY_MESSAGE,
  PEER_KEY_SIZE,
  TXID_SIZE,
} from './constants.js';
import { endpointKey, isCandidate, parseCandidate } from './endpointClass.js';
import { type NatReport, natReportByte, natReportOf } from './natBehaviour.js';

/** "Are you there on this address?" Answered by a pong to wherever the ping came from. */
export interface Ping {
  readonly kind: 'ping';
  readonly txid: Uint8Array;
  /** The pinger's own idea of the address it sends from, if it knows; lets the peer spot a NAT. */
  readonly fromHint?: Endpoint;
}

export interface Pong {
  readonly kind: 'pong';
  readonly txid: Uint8Array;
  /** The address the ping came from, as the answerer saw it: the pinger's reflexive address. Absent
   * when the ping came through a relay (there is no UDP source to report). */
  readonly observed?: Endpoint;
  /**
   * How long the answerer held the ping, µs: from its data path's receive of the ping to the pong
   * being sealed. The pinger takes it off the round trip, so RTT is what the path took, not how busy
   * the answerer's event loop was (issue 13, point 4). Sent with `nat`, after `observed`.
   */
  readonly heldUs?: number;
  /** The answerer's NAT as it classifies it, and its port mapping (natBehaviour.ts). */
  readonly nat?: NatReport;
}

const UNKNOWN_NAT: NatReport = { mapping: 'unknown', portKept: null, portMapping: null };

/** heldUs on the wire when the answerer could not measure it. */
const HELD_UNKNOWN = 0xffff_ffff;

/** "Probe me at these now; I am probing you": starts a burst on both sides at once. */
export interface CallMeMaybe {
  readonly kind: 'callMeMaybe';
  readonly candidates: readonly Endpoint[];
}

/** To a mutual member: "please introduce me to this peer". */
export interface IntroduceRequest {
  readonly kind: 'introduceRequest';
  readonly peer: Uint8Array;
}

/** From a mutual member to each side at once: the other side's candidates, as the member sees them. */
export interface Introduce {
  readonly kind: 'introduce';
  readonly peer: Uint8Array;
  readonly candidates: readonly Endpoint[];
}

/**
 * "I am going away": the sender stops (down, leave). Sealed, so only it can say so of itself, and
 * the sealed channel's replay guard keeps an old one from being played back later.
 */
export interface Bye {
  readonly kind: 'bye';
}

/** Birthday probing's steps (birthday.ts): 'hard' from a per-destination NAT, 'ready', 'open'. */
export type BirthdayStep = 'hard' | 'ready' | 'open';
const BIRTHDAY_STEPS: readonly BirthdayStep[] = ['hard', 'ready', 'open'];

/** One step of birthday probing between two peers that reach each other only through a relay. */
export interface Birthday {
  readonly kind: 'birthday';
  readonly step: BirthdayStep;
}

/**
 * A filter test's steps (filterTest.ts): 'ask' a helper, its 'probe' from a fresh socket, its word it
 * 'sent' it and from which 'port'; our 'knock' at that port, and the helper's word where it was 'seen'.
 */
export type FilterStep = 'ask' | 'probe' | 'sent' | 'port' | 'knock' | 'seen';
const FILTER_STEPS: readonly FilterStep[] = ['ask', 'probe', 'sent', 'port', 'knock', 'seen'];
/**
 * How many ports each step carries (u16 each, after the nonce): 'port' the helper's fresh one;
 * 'seen' the ports the ask and the knock came from. The first three steps carry none, as before
 * the knock existed, so an older node still understands them.
 */
const FILTER_PORTS: Readonly<Record<FilterStep, number>> = {
  ask: 0,
  probe: 0,
  sent: 0,
  port: 1,
  knock: 0,
  seen: 2,
};

/** One step of a test of our NAT's inbound filtering; the nonce ties the steps together. Fixed size per step. */
export interface FilterTestMessage {
  readonly kind: 'filterTest';
  readonly step: FilterStep;
  readonly nonce: Uint8Array;
  /** As many as the step carries (FILTER_PORTS), each 1..65535; absent for none. */
  readonly ports?: readonly number[];
}

/**
 * "I have just sent openers (pings that die past my own NAT) to your addresses": my NAT now lets
 * your pings in, so send them whole. Travels through a relay; see opening.ts.
 */
export interface Opened {
  readonly kind: 'opened';
}

export type DiscoveryMessage =
  | Ping
  | Pong
  | CallMeMaybe
  | IntroduceRequest
  | Introduce
  | Bye
  | Birthday
  | FilterTestMessage
  | Opened;

export type DiscoveryDecodeFailure = 'unknownKind' | 'malformed';
export type DiscoveryDecoded =
  | { ok: true; message: DiscoveryMessage }
  | { ok: false; reason: DiscoveryDecodeFailure };

/** Throws only on a message this node built wrongly, never on anything from the network. */
export function encodeDiscovery(message: DiscoveryMessage): Uint8Array {
  const problem = invalidField(message);
  if (problem !== null) throw new OverlayError('EINTERNAL', `cannot encode ${message.kind}: ${problem}`);
  const w = new ByteWriter(64);
  switch (message.kind) {
    case 'ping':
      w.u8(KIND_PING)
        .bytes(message.txid)
        .shortString(message.fromHint ? formatEndpoint(message.fromHint) : '');
      break;
    case 'pong':
      w.u8(KIND_PONG)
        .bytes(message.txid)
        .shortString(message.observed ? formatEndpoint(message.observed) : '');
      // Older pongs end here; a timed one carries both fields.
      if (message.heldUs !== undefined || message.nat !== undefined) {
        w.u32(message.heldUs ?? HELD_UNKNOWN).u8(
          message.nat ? natReportByte(message.nat) : natReportByte(UNKNOWN_NAT),
        );
      }
      break;
    case 'callMeMaybe':
      w.u8(KIND_CALL_ME_MAYBE);
      writeCandidates(w, message.candidates);
      break;
    case 'introduceRequest':
      w.u8(KIND_INTRODUCE_REQUEST).bytes(message.peer);
      break;
    case 'introduce':
      w.u8(KIND_INTRODUCE).bytes(message.peer);
      writeCandidates(w, message.candidates);
      break;
    case 'bye':
      w.u8(KIND_BYE);
      break;
    case 'birthday':
      w.u8(KIND_BIRTHDAY).u8(BIRTHDAY_STEPS.indexOf(message.step) + 1);
      break;
    case 'filterTest':
      w.u8(KIND_FILTER_TEST)
        .u8(FILTER_STEPS.indexOf(message.step) + 1)
        .bytes(message.nonce);
      for (const port of message.ports ?? []) w.u16(port);
      break;
    case 'opened':
      w.u8(KIND_OPENED);
      break;
  }
  return w.finish();
}

export function decodeDiscovery(bytes: Uint8Array): DiscoveryDecoded {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > MAX_DISCOVERY_MESSAGE) {
    return { ok: false, reason: 'malformed' };
  }
  const r = new ByteReader(bytes);
  let message: DiscoveryMessage;
  switch (r.u8()) {
    case KIND_PING: {
      const txid = r.take(TXID_SIZE);
      const hint = readEndpoint(r);
      message = hint === undefined ? { kind: 'ping', txid } : { kind: 'ping', txid, fromHint: hint };
      break;
    }
    case KIND_PONG: {
      const txid = r.take(TXID_SIZE);
      const observed = readEndpoint(r);
      message = observed === undefined ? { kind: 'pong', txid } : { kind: 'pong', txid, observed };
      if (!r.done) {
        const held = r.u32();
        const nat = natReportOf(r.u8());
        if (nat === undefined) r.fail();
        message = { ...message, ...(held !== HELD_UNKNOWN && { heldUs: held }), ...(nat && { nat }) };
      }
      break;
    }
    case KIND_CALL_ME_MAYBE:
      message = { kind: 'callMeMaybe', candidates: readCandidates(r) };
      break;
    case KIND_INTRODUCE_REQUEST:
      message = { kind: 'introduceRequest', peer: r.take(PEER_KEY_SIZE) };
      break;
    case KIND_INTRODUCE: {
      const peer = r.take(PEER_KEY_SIZE);
      message = { kind: 'introduce', peer, candidates: readCandidates(r) };
      break;
    }
    case KIND_BYE:
      message = { kind: 'bye' };
      break;
    case KIND_BIRTHDAY: {
      const step = BIRTHDAY_STEPS[r.u8() - 1];
      if (step === undefined) return { ok: false, reason: 'malformed' };
      message = { kind: 'birthday', step };
      break;
    }
    case KIND_FILTER_TEST: {
      const step = FILTER_STEPS[r.u8() - 1];
      if (step === undefined) return { ok: false, reason: 'malformed' };
      const nonce = r.take(TXID_SIZE);
      const ports = Array.from({ length: FILTER_PORTS[step] }, () => r.u16());
      message = { kind: 'filterTest', step, nonce, ...(ports.length > 0 && { ports }) };
      break;
    }
    case KIND_OPENED:
      message = { kind: 'opened' };
      break;
    default:
      return { ok: false, reason: 'unknownKind' };
  }
  if (!r.done || invalidField(message) !== null) return { ok: false, reason: 'malformed' };
  return { ok: true, message };
}

function writeCandidates(w: ByteWriter, candidates: readonly Endpoint[]): void {
  w.u8(candidates.length);
  for (const c of candidates) w.shortString(formatEndpoint(c));
}

/**
 * The wire's edge: endpoints travel as their canonical text, and are parsed here, once. Text that is
 * not a canonical endpoint fails the reader (a 'malformed' decode, counted by the node), never a throw.
 */
function readCandidates(r: ByteReader): Endpoint[] {
  const count = r.u8();
  if (count > MAX_CANDIDATES) r.fail();
  const out: Endpoint[] = [];
  for (let i = 0; i < count && r.ok; i++) {
    const e = parseCandidate(r.shortString(MAX_CANDIDATE_LENGTH, 'ascii'));
    if (e === undefined) r.fail();
    else out.push(e);
  }
  return out;
}

/** An optional endpoint: empty text for none. */
function readEndpoint(r: ByteReader): Endpoint | undefined {
  const text = r.shortString(MAX_CANDIDATE_LENGTH, 'ascii');
  if (text === '') return undefined;
  const e = parseCandidate(text);
  if (e === undefined) r.fail();
  return e;
}

/** Whether `e` encodes as a candidate that decodes back: what we send is what the peer accepts. */
function validEndpoint(e: Endpoint): boolean {
  return isCandidate(formatEndpoint(e));
}

/** The same bounds on both sides. */
function invalidField(m: DiscoveryMessage): string | null {
  switch (m.kind) {
    case 'ping':
      if (m.txid.length !== TXID_SIZE) return 'txid size';
      return m.fromHint === undefined || validEndpoint(m.fromHint) ? null : 'from hint';
    case 'pong':
      if (m.txid.length !== TXID_SIZE) return 'txid size';
      if (m.heldUs !== undefined && !(Number.isInteger(m.heldUs) && m.heldUs >= 0 && m.heldUs < HELD_UNKNOWN))
        return 'held time';
      return m.observed === undefined || validEndpoint(m.observed) ? null : 'observed address';
    case 'callMeMaybe':
      return invalidCandidates(m.candidates);
    case 'introduceRequest':
      return m.peer.length === PEER_KEY_SIZE ? null : 'peer key size';
    case 'introduce':
      if (m.peer.length !== PEER_KEY_SIZE) return 'peer key size';
      return invalidCandidates(m.candidates);
    case 'bye':
      return null;
    case 'birthday':
      return BIRTHDAY_STEPS.includes(m.step) ? null : 'birthday step';
    case 'filterTest':
      if (m.nonce.length !== TXID_SIZE) return 'nonce size';
      if (!FILTER_STEPS.includes(m.step)) return 'filter test step';
      if ((m.ports?.length ?? 0) !== FILTER_PORTS[m.step]) return 'filter test ports';
      return (m.ports ?? []).every((p) => Number.isInteger(p) && p >= 1 && p <= 0xffff)
        ? null
        : 'filter test port';
    case 'opened':
      return null;
  }
}

function invalidCandidates(candidates: readonly Endpoint[]): string | null {
  if (candidates.length > MAX_CANDIDATES) return 'too many candidates';
  if (new Set(candidates.map(endpointKey)).size !== candidates.length) return 'duplicate candidate';
  return candidates.every(validEndpoint) ? null : 'candidate';
}
