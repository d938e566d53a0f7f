/**
 * The per-peer timer state machine of whitepaper §6. Events come in with the current time; due()
 * returns what the peer must do now; nextDeadline() says when to call due() again. No clocks or
 * callbacks of its own, so tests drive it with a simulated clock.
 */
import type { Timings } from './constants.js';
import type { RandomSource } from './primitives.js';

export type TimerEvent =
  /** An initiation went out: the first of an attempt, or a retry. */
  | { kind: 'initiationSent'; retry: boolean }
  /** A handshake finished: a response consumed, or (responder) the first transport packet received. */
  | { kind: 'handshakeCompleted' }
  /** New transport keys were derived, on either side. */
  | { kind: 'sessionDerived' }
  /** Any authenticated packet (handshake, data or keepalive) was sent. */
  | { kind: 'authenticatedSent' }
  /** Any authenticated packet was received. */
  | { kind: 'authenticatedReceived' }
  /** A transport packet with a non-empty payload was sent. */
  | { kind: 'dataSent' }
  /** A transport packet with a non-empty payload was received. */
  | { kind: 'dataReceived' }
  /** The peer's persistent keepalive interval changed (0 turns it off). */
  | { kind: 'persistentKeepaliveSet'; intervalMs: number };

export type TimerAction =
  /** Start a handshake (retry: true when retransmitting after REKEY_TIMEOUT). */
  | { kind: 'sendInitiation'; retry: boolean }
  /** Send an empty transport message. */
  | { kind: 'sendKeepalive' }
  /** whitepaper §6.4: REKEY_ATTEMPT_TIME passed without a response: stop, drop queued packets. */
  | { kind: 'giveUp' }
  /** whitepaper §6.3: nothing new for 3 × REJECT_AFTER_TIME: erase every key of this peer. */
  | { kind: 'zeroKeys' };

type Deadline = 'retransmit' | 'keepalive' | 'newHandshake' | 'zeroKeys' | 'persistentKeepalive';

export class PeerTimers {
  private readonly deadlines = new Map<Deadline, number>();
  private attempts = 0;
  /** Data arrived while a keepalive was already pending: send another one after it. */
  private keepaliveOwed = false;
  private rearmKeepaliveOnSend = false;
  private persistentIntervalMs = 0;

  constructor(
    private readonly timings: Timings,
    private readonly random: RandomSource,
  ) {}

  /** whitepaper §6.4: give up after REKEY_ATTEMPT_TIME, i.e. after this many initiations. */
  get maxAttempts(): number {
    return Math.ceil(this.timings.rekeyAttemptTime / this.timings.rekeyTimeout);
  }

  on(event: TimerEvent, now: number): void {
    const t = this.timings;
    switch (event.kind) {
      case 'initiationSent':
        this.attempts = event.retry ? this.attempts + 1 : 1;
        // whitepaper §6.4: retransmit after REKEY_TIMEOUT plus jitter, so peers do not retry in lockstep.
        this.deadlines.set('retransmit', now + t.rekeyTimeout + this.jitter());
        break;
      case 'handshakeCompleted':
        this.deadlines.delete('retransmit');
        this.attempts = 0;
        break;
      case 'sessionDerived':
        // whitepaper §6.3: keys die 3 × REJECT_AFTER_TIME after the last handshake.
        this.deadlines.set('zeroKeys', now + 3 * t.rejectAfterTime);
        break;
      case 'authenticatedSent':
        // whitepaper §6.5: anything we send already tells the peer we are alive.
        this.deadlines.delete('keepalive');
        if (this.rearmKeepaliveOnSend) {
          this.rearmKeepaliveOnSend = false;
          this.deadlines.set('keepalive', now + t.keepaliveTimeout);
        }
        this.armPersistent(now);
        break;
      case 'authenticatedReceived':
        // whitepaper §6.5: hearing anything back means the peer is alive; no new handshake needed.
        this.deadlines.delete('newHandshake');
        this.armPersistent(now);
        break;
      case 'dataSent':
        // whitepaper §6.5: if data we send goes unanswered for KEEPALIVE + REKEY_TIMEOUT, rehandshake.
        if (!this.deadlines.has('newHandshake')) {
          this.deadlines.set('newHandshake', now + t.keepaliveTimeout + t.rekeyTimeout);
        }
        break;
      case 'dataReceived':
        // whitepaper §6.5: answer one-way traffic with a keepalive after KEEPALIVE_TIMEOUT.
        if (!this.deadlines.has('keepalive')) this.deadlines.set('keepalive', now + t.keepaliveTimeout);
        else this.keepaliveOwed = true;
        break;
      case 'persistentKeepaliveSet':
        this.persistentIntervalMs = event.intervalMs;
        if (event.intervalMs > 0) this.deadlines.set('persistentKeepalive', now + event.intervalMs);
        else this.deadlines.delete('persistentKeepalive');
        break;
    }
  }

  /** Fires every deadline at or before `now`, in time order, and returns the resulting actions. */
  due(now: number): TimerAction[] {
    const actions: TimerAction[] = [];
    for (;;) {
      let next: [Deadline, number] | undefined;
      for (const entry of this.deadlines) if (entry[1] <= now && (!next || entry[1] < next[1])) next = entry;
      if (!next) return actions;
      const [name, at] = next;
      this.deadlines.delete(name);
      this.fire(name, at, actions);
    }
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const at of this.deadlines.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  /** After zeroing, only the persistent keepalive survives (it restarts a handshake by sending). */
  clearAfterZero(): void {
    for (const name of ['retransmit', 'keepalive', 'newHandshake', 'zeroKeys'] as const)
      this.deadlines.delete(name);
    this.attempts = 0;
    this.keepaliveOwed = false;
    this.rearmKeepaliveOnSend = false;
  }

  private fire(name: Deadline, at: number, actions: TimerAction[]): void {
    switch (name) {
      case 'retransmit':
        if (this.attempts >= this.maxAttempts) {
          this.attempts = 0;
          actions.push({ kind: 'giveUp' });
          // whitepaper §6.3: a peer we gave up on still has its keys erased on schedule.
          if (!this.deadlines.has('zeroKeys'))
            this.deadlines.set('zeroKeys', at + 3 * this.timings.rejectAfterTime);
        } else {
          actions.push({ kind: 'sendInitiation', retry: true });
        }
        break;
      case 'keepalive':
        actions.push({ kind: 'sendKeepalive' });
        // Re-armed once the keepalive is actually sent, since that send clears the pending timer.
        if (this.keepaliveOwed) {
          this.keepaliveOwed = false;
          this.rearmKeepaliveOnSend = true;
        }
        break;
      case 'newHandshake':
        actions.push({ kind: 'sendInitiation', retry: false });
        break;
      case 'zeroKeys':
        actions.push({ kind: 'zeroKeys' });
        break;
      case 'persistentKeepalive':
        actions.push({ kind: 'sendKeepalive' });
        this.deadlines.set('persistentKeepalive', at + this.persistentIntervalMs);
        break;
    }
  }

  private armPersistent(now: number): void {
    if (this.persistentIntervalMs > 0)
      this.deadlines.set('persistentKeepalive', now + this.persistentIntervalMs);
  }

  private jitter(): number {
    const r = this.random(2);
    return (((r[0]! << 8) | r[1]!) % (this.timings.rekeyTimeoutJitterMax + 1)) | 0;
  }
}
