/**
 * One session (a "keypair" in the whitepaper): the transport keys from one handshake, its indices,
 * counters and age, plus a TypeScript reference of transport encryption (whitepaper §5.4.6). The
 * native data path does the same at speed; this one serves tests, interop and slow paths.
 */
import { PADDING_MULTIPLE, type Timings } from './constants.js';
import { encodeTransport, type Parsed, type Transport } from './messages.js';
import type { TransportKeys } from './noise.js';
import { aeadOpen, aeadSeal } from './primitives.js';
import { ReplayWindow } from './replayWindow.js';

const EMPTY = new Uint8Array(0);

export class Session {
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** whitepaper §6.2: only the side that initiated a session rekeys it on age. */
  readonly isInitiator: boolean;
  readonly createdAt: number;
  private readonly sendKey: Uint8Array;
  private readonly receiveKey: Uint8Array;
  private nextCounter = 0n;
  private readonly replay: ReplayWindow;
  private zeroed = false;

  constructor(
    keys: TransportKeys,
    info: { localIndex: number; remoteIndex: number; isInitiator: boolean; createdAt: number },
    private readonly timings: Timings,
  ) {
    this.sendKey = keys.sendKey;
    this.receiveKey = keys.receiveKey;
    this.localIndex = info.localIndex;
    this.remoteIndex = info.remoteIndex;
    this.isInitiator = info.isInitiator;
    this.createdAt = info.createdAt;
    this.replay = new ReplayWindow(timings.rejectAfterMessages);
  }

  /** Messages sent so far (the next nonce). */
  get sent(): bigint {
    return this.nextCounter;
  }

  get isZeroed(): boolean {
    return this.zeroed;
  }

  /** whitepaper §6.2: a session is unusable after REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES. */
  isExpired(now: number): boolean {
    return this.zeroed || now - this.createdAt >= this.timings.rejectAfterTime;
  }

  canSend(now: number): boolean {
    return !this.isExpired(now) && this.nextCounter < this.timings.rejectAfterMessages;
  }

  /**
   * whitepaper §6.2: the initiator of a session starts a new handshake once it is REKEY_AFTER_TIME
   * old or has sent REKEY_AFTER_MESSAGES.
   */
  wantsRekeyOnSend(now: number): boolean {
    return (
      this.isInitiator &&
      (now - this.createdAt >= this.timings.rekeyAfterTime ||
        this.nextCounter >= this.timings.rekeyAfterMessages)
    );
  }

  /**
   * whitepaper §6.2: if the initiator receives on a session close to REJECT_AFTER_TIME, it rekeys so the
   * conversation survives even when it has nothing of its own to send.
   */
  wantsRekeyOnReceive(now: number): boolean {
    const t = this.timings;
    return (
      this.isInitiator && now - this.createdAt >= t.rejectAfterTime - t.keepaliveTimeout - t.rekeyTimeout
    );
  }

  /**
   * Seals one plaintext packet as a type 4 message; an empty payload is a keepalive. Zero-pads to a
   * multiple of 16 (whitepaper §5.4.6), capped at `mtu` so padding never pushes a packet over it.
   * Null when the session may no longer send.
   */
  encrypt(packet: Uint8Array, now: number, mtu = Number.POSITIVE_INFINITY): Uint8Array | null {
    if (!this.canSend(now)) return null;
    const padded = Math.min(Math.ceil(packet.length / PADDING_MULTIPLE) * PADDING_MULTIPLE, mtu);
    const plain = new Uint8Array(Math.max(padded, packet.length));
    plain.set(packet, 0);
    const counter = this.nextCounter++;
    const encryptedPacket = aeadSeal(this.sendKey, counter, plain, EMPTY);
    return encodeTransport({ receiverIndex: this.remoteIndex, counter, encryptedPacket });
  }

  /** Opens a type 4 message addressed to this session: the padded plaintext, or why it was dropped. */
  decrypt(msg: Transport, now: number): Parsed<Uint8Array> {
    if (this.isExpired(now)) return { ok: false, reason: 'sessionExpired' };
    if (!this.replay.check(msg.counter)) return { ok: false, reason: 'replayedCounter' };
    const plain = aeadOpen(this.receiveKey, msg.counter, msg.encryptedPacket, EMPTY);
    if (!plain) return { ok: false, reason: 'decryptFailed' };
    this.replay.accept(msg.counter);
    return { ok: true, value: plain };
  }

  /** The raw keys, for installing this session in the native data path. Do not keep copies. */
  keyMaterial(): TransportKeys {
    return { sendKey: this.sendKey, receiveKey: this.receiveKey };
  }

  /** whitepaper §6.3: a replaced or expired session's keys are erased from memory. */
  zero(): void {
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
    this.zeroed = true;
  }
}
