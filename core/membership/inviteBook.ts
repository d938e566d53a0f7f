/**
 * The inviter's side of invites: which codes are live, how many uses each has left, and which
 * were revoked. Only a hash of each secret is kept (so a leaked book does not let anyone join),
 * and a redemption compares hashes in constant time. Everything is synchronous: one redemption
 * runs to completion before the next starts, so a single-use invite is redeemed exactly once.
 * Beside the invites, the book keeps who no invite may admit again: the names and WireGuard keys
 * of kicked members (retiredMembers.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import type { RandomSource } from '../wireguard/primitives.js';
import { INVITE_SECRET_SIZE, inviteId } from './inviteCode.js';
import { MembershipError } from './membershipError.js';
import { type RetiredJSON, RetiredMembers } from './retiredMembers.js';

export const INVITE_BOOK_VERSION = 1;
export const MAX_INVITE_USES = 1000;
export const MAX_LABEL_LENGTH = 64;

export type RedeemResult = 'ok' | 'unknown' | 'expired' | 'used' | 'revoked' | 'bad-secret';
export type InviteState = 'live' | 'expired' | 'used' | 'revoked';

export interface InviteSummary {
  readonly id: string;
  readonly label: string | null;
  /** Whoever joins with it becomes an admin (`invite --admin`). */
  readonly admin: boolean;
  readonly expiresAt: number;
  readonly uses: number;
  readonly usesLeft: number;
  readonly state: InviteState;
}

export interface CreatedInvite {
  readonly id: string;
  /** Goes into the code and nowhere else: never log it, never store it. */
  readonly secret: Uint8Array;
  readonly label: string | null;
  readonly expiresAt: number;
  readonly uses: number;
}

interface Entry {
  id: string;
  admin: boolean;
  secretHash: Uint8Array;
  label: string | null;
  expiresAt: number;
  uses: number;
  usesLeft: number;
  revoked: boolean;
}

export interface InviteBookJSON {
  version: number;
  invites: {
    id: string;
    secretHash: string;
    label: string | null;
    /** Present (true) only on an admin invite, so older files read as they are. */
    admin?: true;
    expiresAt: number;
    uses: number;
    usesLeft: number;
    revoked: boolean;
  }[];
  /** Absent in books written before kicked members were kept: none. */
  retired?: RetiredJSON[];
}

function secretHash(secret: Uint8Array): Uint8Array {
  const ctx = new TextEncoder().encode('overlay invite secret v1\0');
  const input = new Uint8Array(ctx.length + secret.length);
  input.set(ctx, 0);
  input.set(secret, ctx.length);
  return blake2s(input);
}

function isLabel(label: unknown): label is string | null {
  // Printable ASCII only: labels end up in terminal tables and must not carry escape sequences.
  return (
    label === null ||
    (typeof label === 'string' && label.length <= MAX_LABEL_LENGTH && /^[ -~]*$/.test(label))
  );
}

export class InviteBook {
  private readonly entries = new Map<string, Entry>();
  readonly retired: RetiredMembers;

  constructor(retired = new RetiredMembers()) {
    this.retired = retired;
  }

  create(
    options: { expiresAt: number; uses?: number; label?: string | null; admin?: boolean },
    random: RandomSource,
  ): CreatedInvite {
    const uses = options.uses ?? 1;
    const label = options.label ?? null;
    if (!Number.isSafeInteger(options.expiresAt) || options.expiresAt <= 0) {
      throw new MembershipError('EUSAGE', 'an invite needs an expiry time');
    }
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_INVITE_USES) {
      throw new MembershipError(
        'EUSAGE',
        `--uses must be a whole number from 1 to ${MAX_INVITE_USES}, not ${uses}`,
      );
    }
    if (!isLabel(label)) {
      throw new MembershipError(
        'EUSAGE',
        `an invite label is at most ${MAX_LABEL_LENGTH} printable characters`,
      );
    }
    const secret = random(INVITE_SECRET_SIZE).slice(0, INVITE_SECRET_SIZE);
    if (secret.length !== INVITE_SECRET_SIZE)
      throw new MembershipError('EINTERNAL', 'random source gave too few bytes');
    const id = inviteId(secret);
    if (this.entries.has(id))
      throw new MembershipError('EINTERNAL', 'random source repeated an invite secret');
    this.entries.set(id, {
      id,
      secretHash: secretHash(secret),
      label,
      admin: options.admin === true,
      expiresAt: options.expiresAt,
      uses,
      usesLeft: uses,
      revoked: false,
    });
    return { id, secret, label, expiresAt: options.expiresAt, uses };
  }

  /**
   * Checks the secret, then the invite's state, without using it: 'ok' means a `spend` now
   * succeeds. The state is only told to a holder of the right secret, so an id alone reveals
   * nothing.
   */
  check(id: string, secret: Uint8Array, now: number): RedeemResult {
    const entry = this.entries.get(id);
    if (!entry) return 'unknown';
    const given =
      secret instanceof Uint8Array && secret.length === INVITE_SECRET_SIZE ? secretHash(secret) : undefined;
    // Equal-length hashes, compared in constant time: no timing tells how much of a guess was right.
    if (!given || !timingSafeEqual(given, entry.secretHash)) return 'bad-secret';
    if (entry.revoked) return 'revoked';
    if (now >= entry.expiresAt) return 'expired';
    if (entry.usesLeft <= 0) return 'used';
    return 'ok';
  }

  /** `check`, and on 'ok' uses the invite up by one. */
  redeem(id: string, secret: Uint8Array, now: number): RedeemResult {
    const result = this.check(id, secret, now);
    if (result === 'ok') this.entries.get(id)!.usesLeft--;
    return result;
  }

  /**
   * Gives back a use `redeem` took, when what it was spent on failed: a refused join must leave
   * the invite as it was. Never above the invite's uses.
   */
  giveBack(id: string): void {
    const entry = this.entries.get(id);
    if (entry && entry.usesLeft < entry.uses) entry.usesLeft++;
  }

  /** Revokes a live or spent invite; false if there is no invite with this id. */
  revoke(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.revoked = true;
    return true;
  }

  /** Whether joining with invite `id` makes an admin (false for an unknown id). */
  grantsAdmin(id: string): boolean {
    return this.entries.get(id)?.admin === true;
  }

  /** Whether this book ever issued invite `id` (in any state): a join query may name it. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  list(now: number): InviteSummary[] {
    return [...this.entries.values()]
      .map((e) => ({
        id: e.id,
        label: e.label,
        admin: e.admin,
        expiresAt: e.expiresAt,
        uses: e.uses,
        usesLeft: e.usesLeft,
        state: stateOf(e, now),
      }))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
  }

  /** Drops invites that expired before `before` (they can never be redeemed again). */
  forget(before: number): number {
    let n = 0;
    for (const [id, e] of [...this.entries]) {
      if (e.expiresAt < before) {
        this.entries.delete(id);
        n++;
      }
    }
    return n;
  }

  toJSON(): InviteBookJSON {
    return {
      version: INVITE_BOOK_VERSION,
      invites: [...this.entries.values()].map((e) => ({
        id: e.id,
        secretHash: Buffer.from(e.secretHash).toString('base64'),
        label: e.label,
        ...(e.admin && { admin: true as const }),
        expiresAt: e.expiresAt,
        uses: e.uses,
        usesLeft: e.usesLeft,
        revoked: e.revoked,
      })),
      ...(this.retired.size > 0 && { retired: this.retired.toJSON() }),
    };
  }

  /** Throws ESTORE_CORRUPT naming the invite and field; `where` names the file. */
  static fromJSON(value: unknown, where = 'invite book'): InviteBook {
    const corrupt = (what: string) => new MembershipError('ESTORE_CORRUPT', `${where}: ${what}`);
    const v = value as Partial<InviteBookJSON> | null;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt('not a JSON object');
    if (v.version !== INVITE_BOOK_VERSION) throw corrupt(`unknown version ${JSON.stringify(v.version)}`);
    if (!Array.isArray(v.invites)) throw corrupt('"invites" is not a list');
    const book = new InviteBook(
      v.retired === undefined ? undefined : RetiredMembers.fromJSON(v.retired, where),
    );
    v.invites.forEach((raw: unknown, i) => {
      const e = raw as Partial<InviteBookJSON['invites'][number]> | null;
      const label = `invite ${i}`;
      if (typeof e !== 'object' || e === null) throw corrupt(`${label} is not an object`);
      if (typeof e.id !== 'string' || !/^[0-9a-f]{16}$/.test(e.id)) throw corrupt(`${label} has a bad id`);
      if (book.entries.has(e.id)) throw corrupt(`${label} (${e.id}) is listed twice`);
      const hash =
        typeof e.secretHash === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(e.secretHash)
          ? new Uint8Array(Buffer.from(e.secretHash, 'base64'))
          : new Uint8Array(0);
      if (hash.length !== 32) throw corrupt(`${label} (${e.id}) has a bad secretHash`);
      if (!isLabel(e.label)) throw corrupt(`${label} (${e.id}) has a bad label`);
      if (!Number.isSafeInteger(e.expiresAt) || (e.expiresAt as number) <= 0) {
        throw corrupt(`${label} (${e.id}) has a bad expiresAt`);
      }
      const uses = e.uses as number;
      const usesLeft = e.usesLeft as number;
      if (!Number.isInteger(uses) || uses < 1 || uses > MAX_INVITE_USES)
        throw corrupt(`${label} (${e.id}) has bad uses`);
      if (!Number.isInteger(usesLeft) || usesLeft < 0 || usesLeft > uses) {
        throw corrupt(`${label} (${e.id}) has bad usesLeft`);
      }
      if (typeof e.revoked !== 'boolean') throw corrupt(`${label} (${e.id}) has a bad revoked flag`);
      if (e.admin !== undefined && e.admin !== true) throw corrupt(`${label} (${e.id}) has a bad admin flag`);
      book.entries.set(e.id, {
        id: e.id,
        admin: e.admin === true,
        secretHash: hash,
        label: e.label as string | null,
        expiresAt: e.expiresAt as number,
        uses,
        usesLeft,
        revoked: e.revoked,
      });
    });
    return book;
  }
}

function stateOf(e: Entry, now: number): InviteState {
  if (e.revoked) return 'revoked';
  if (now >= e.expiresAt) return 'expired';
  if (e.usesLeft <= 0) return 'used';
  return 'live';
}
