/**
 * Discovery's tunables and size limits in one place. The timings follow from issue 5's promises:
 * a direct path within ~2 s of an introduction or a relay instead, a dead direct path left for a relay
 * within 3 s, and a returning direct path taken back within 10 s.
 */
import { MAX_ENDPOINT_LENGTH, MAX_ENDPOINTS, PUBLIC_KEY_SIZE } from '../overlayWire/constants.js';

/** Inner message kinds (the first byte of an encoded discovery message), inside 0x20–0x3f. */
export const KIND_PING = 0x20;
export const KIND_PONG = 0x21;
export const KIND_CALL_ME_MAYBE = 0x22;
export const KIND_INTRODUCE_REQUEST = 0x23;
export const KIND_INTRODUCE = 0x24;
/** "I am going away" (down, leave): the sender's peers show it offline at once, not 30 s later. */
export const KIND_BYE = 0x27;
/** Birthday probing's steps between a hard and an easy side (birthday.ts). */
export const KIND_BIRTHDAY = 0x28;
/** A test of our NAT's inbound filtering, with a member's help (filterTest.ts). */
export const KIND_FILTER_TEST = 0x29;
/** "I just opened my NAT toward your addresses": the peer's full pings may come now (opening.ts). */
export const KIND_OPENED = 0x2a;
// 0x25 and 0x26 were `relay` and `relayed`: datagrams forwarded by the relay's JavaScript. Relayed
// datagrams travel only in the data path's envelopes now (issue 10), and the two kinds decode as
// unknown; never give them another meaning.

export const TXID_SIZE = 12;
export const PEER_KEY_SIZE = PUBLIC_KEY_SIZE;
export const MAX_CANDIDATES = MAX_ENDPOINTS;
export const MAX_CANDIDATE_LENGTH = MAX_ENDPOINT_LENGTH;
/** [kind][key 32][count][count × (length, candidate)]: an introduce, the largest discovery message. */
export const MAX_DISCOVERY_MESSAGE = 1 + PEER_KEY_SIZE + 1 + MAX_CANDIDATES * (1 + MAX_CANDIDATE_LENGTH);

/** Pings of one burst: sent at these offsets from its start, to every candidate at once. */
export const BURST_OFFSETS_MS: readonly number[] = [0, 400, 800, 1400, 2200];
/** No direct answer this long after a burst began: take a relay (issue 5: "a short bound"). */
export const DIRECT_DEADLINE_MS = 2_000;
/** A burst asked for by the peer (call-me-maybe, introduction) is not restarted more often than this. */
export const BURST_MIN_GAP_MS = 1_500;
/**
 * Opening a NAT without a firewall (issue 13, point 1; opening.ts): a ping to a peer's public address
 * that never answered goes out with this IP TTL — enough to pass our own NAT, which makes the
 * mapping, and to die at the first router beyond it, long before the peer's NAT — until the peer
 * says it has opened its own NAT toward us, or we hear from that address. A host behind a carrier's
 * NAT as well as its own needs more; such NATs pick a port per destination anyway.
 */
export const OPENER_TTL = 2;
/** The peer said it opened toward us this recently: our pings to it go out whole (its NAT lets them in). */
export const OPENED_FRESH_MS = 10_000;
/** A ping to us came from this address this recently: the NATs between are open both ways. */
export const HEARD_FRESH_MS = 10_000;
/** A ping without a pong after this long counts as lost. */
export const PONG_TIMEOUT_MS = 1_000;

/** The path in use is pinged this often while traffic flows, so its death is noticed within about two seconds. */
export const HEARTBEAT_MS = 1_000;
/**
 * ...and this often when the node says no traffic flows to the peer (issue 12, point 5: an idle
 * node sleeps). Only to keep the path open, as WireGuard's persistent keepalive does, and for the
 * same reason at the same cadence: NATs and stateful firewalls drop an idle UDP mapping after 30 s
 * at the least (Linux conntrack's unreplied timeout; many home routers). One end pings (whichever's
 * timer, drawn from 80–100% of this, runs out first; the other hears it and waits again) and the
 * other answers, so each end's mapping sees a packet each way at least this often. Nothing is lost by checking an idle path so rarely: it
 * carries nothing, and when traffic starts the path is pinged at once (PeerPath.setActive), so a
 * path that died while idle is left within DEAD_AFTER_MS of the first packet. A member's pings and
 * pongs are also what tells its peers it is online (core/node/status.ts), within this cadence.
 */
export const IDLE_HEARTBEAT_MS = 25_000;
/**
 * The first unanswered ping on the path in use is this old (plus the path's RTT): ping it every
 * SUSPECT_PING_MS. Silence counts from a ping, not from the last answer, so a path pinged only
 * every 25 s (no traffic) is not suspected between its pings.
 */
export const SUSPECT_AFTER_MS = 300;
export const SUSPECT_PING_MS = 250;
/**
 * ...and this old (plus twice the RTT), with the suspect pings unanswered too: the path is dead
 * and another is taken. With heartbeats every second, a cut is acted on 1.0–2.3 s after it,
 * inside issue 5's 3 s.
 */
export const DEAD_AFTER_MS = 1_000;
/** Another route answered this recently while the path in use went quiet: the peer roamed. */
export const ROAMED_ANSWER_MS = 1_300;
/** Alternatives (other candidates, relays) are probed every 3–4.5 s: a returning path is seen fast. */
export const ALTERNATIVE_PROBE_MS = 3_000;
export const ALTERNATIVE_PROBE_JITTER_MS = 1_500;
/**
 * ...and every 5 minutes on an idle path: a better path matters only once traffic flows, and then
 * every alternative is probed at once. Also at once when the path in use dies.
 */
export const IDLE_ALTERNATIVE_PROBE_MS = 300_000;
/**
 * On a working direct path, relays are only the fallback: each is probed this often at most, which
 * keeps its evidence about fresh (EVIDENCE_FRESH_MS) at a third of the messages through it.
 */
export const RELAY_PROBE_ON_DIRECT_MS = 8_000;
/** Candidates that have not answered for this long are probed only every SLOW_PROBE_MS on a direct path. */
export const STALE_CANDIDATE_MS = 60_000;
export const SLOW_PROBE_MS = 15_000;
/** An answer older than this is no longer evidence that a path works. */
export const EVIDENCE_FRESH_MS = 11_000;
/** A first answer from a direct candidate while relayed is confirmed by one more ping this soon. */
export const CONFIRM_PING_MS = 200;
/** A direct candidate replaces the one in use only when its RTT is lower by both margins. */
export const SWITCH_RATIO = 0.8;
export const SWITCH_MIN_GAIN_MS = 2;
/** Probe outcomes kept per candidate, for loss. */
export const LOSS_WINDOW = 10;
/**
 * Relays are ranked again by RTT at most this often (and at once when a member's direct path comes,
 * goes or moves): a path keeps the relays it holds, so the ranking only matters to the next it takes.
 */
export const RELAY_RANK_MS = 1_000;
/** Relays probed per peer at most (public ones first). */
export const MAX_RELAYS_PER_PEER = 3;
/** Unanswered pings remembered per peer at most; older ones count as lost. */
export const MAX_PENDING_PINGS = 64;
/** Peer-reflexive candidates (learned from where the peer's pings come from) kept per peer. */
export const MAX_OBSERVED_CANDIDATES = 4;

/**
 * An introduction is asked for again this often while a peer has no direct path; an answer counts
 * only this long after we asked (issue 10, hole 6: an introduction is accepted only when asked for).
 */
export const INTRODUCTION_RETRY_MS = 10_000;
/**
 * ...and this often while no traffic flows to the peer: each costs two introducers two messages and
 * both sides a burst of pings, for a better path that matters only once traffic flows (and then the
 * next request goes at once).
 */
export const IDLE_INTRODUCTION_RETRY_MS = 300_000;
/** Members asked to introduce us at once. */
export const INTRODUCERS = 2;
/** An introducer introduces the same pair at most this often (it costs it two messages). */
export const INTRODUCTION_MIN_GAP_MS = 2_000;
/** An introduction we cannot make yet (one side not reached) is kept this long, checked this often. */
export const PENDING_INTRODUCTION_MS = 5_000;
export const PENDING_INTRODUCTION_CHECK_MS = 100;
export const MAX_PENDING_INTRODUCTIONS = 256;
/** Introductions we asked for and still wait on (pairs of introducer and peer) at most. */
export const MAX_ASKED_INTRODUCTIONS = 1_024;

/**
 * Issue 10, hole 6: each probe to an address that never answered may land on a machine that is no
 * member. Such probes are paid from two token buckets: the path's (whoever named its candidates) and
 * that of the member that named the address (the peer itself for its endpoint record, its
 * call-me-maybes and its pings; the introducer for an introduction). A full burst to a full list is
 * BURST_OFFSETS_MS.length × MAX_CANDIDATES = 40 pings; a path may need two (the peer's list and an
 * introducer's) at once.
 */
export const UNANSWERED_PROBE_BURST_PER_SENDER = BURST_OFFSETS_MS.length * MAX_CANDIDATES;
export const UNANSWERED_PROBES_PER_SECOND_PER_SENDER = 1;
export const UNANSWERED_PROBE_BURST_PER_PEER = 2 * UNANSWERED_PROBE_BURST_PER_SENDER;
export const UNANSWERED_PROBES_PER_SECOND_PER_PEER = 2;
/**
 * Addresses that never answered, held at once: named by one member across all paths, and on one path
 * besides the peer's own endpoint record (introduced and call-me-maybe candidates, a list per member).
 */
export const MAX_UNANSWERED_PER_SENDER = 4 * MAX_CANDIDATES;
export const MAX_UNANSWERED_PER_PEER = 2 * MAX_CANDIDATES;
/**
 * A candidate that was named to us (not in the peer's endpoint record) and never answered is dropped
 * this long after it was last named. An introducer we ask names it again every INTRODUCTION_RETRY_MS
 * while the pair has no direct path, so only what nobody names any more ages out.
 */
export const UNANSWERED_CANDIDATE_TTL_MS = 15_000;

/** Reflexive addresses of our own are forgotten when no peer has confirmed them for this long. */
export const REFLEXIVE_TTL_MS = 120_000;
/** Peers' observations of us kept for the NAT inference. */
export const MAX_NAT_OBSERVATIONS = 16;
