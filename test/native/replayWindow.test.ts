/**
 * The native replay window (RFC 6479 style, 8192 bits) against a model that remembers every
 * counter: a counter is new if it was never accepted, is below REJECT_AFTER_MESSAGES, and is not
 * more than the window behind the newest.
 */
import test from 'ava';
import fc from 'fast-check';
import { testing } from 'tun-napi';

const BITS = BigInt(testing.replayWindowBits);
const WINDOW = BITS - 64n;
const REJECT_AFTER_MESSAGES = 2n ** 64n - 2n ** 13n - 1n;

class ModelWindow {
  private readonly seen = new Set<bigint>();
  private newest: bigint | undefined;
  check(c: bigint): boolean {
    if (c >= REJECT_AFTER_MESSAGES) return false;
    if (this.newest === undefined || c > this.newest) return true;
    if (this.newest - c >= WINDOW) return false;
    return !this.seen.has(c);
  }
  accept(c: bigint): boolean {
    if (!this.check(c)) return false;
    this.seen.add(c);
    if (this.newest === undefined || c > this.newest) this.newest = c;
    return true;
  }
}

test('in order: every counter is accepted once', (t) => {
  const w = new testing.ReplayWindow();
  for (let c = 0n; c < 20_000n; c++) t.true(w.accept(c));
  t.false(w.accept(19_999n));
  t.false(w.check(0n));
});

test('out of order within the window is accepted; duplicates are not', (t) => {
  const w = new testing.ReplayWindow();
  t.true(w.accept(10_000n));
  t.true(w.accept(10_000n - WINDOW + 1n)); // the oldest counter still inside
  t.true(w.accept(9_999n));
  t.true(w.accept(5_000n));
  t.false(w.accept(5_000n));
  t.false(w.accept(10_000n));
  t.true(w.accept(10_001n));
});

test('too old is rejected, even if never seen', (t) => {
  const w = new testing.ReplayWindow();
  t.true(w.accept(10_000n));
  t.false(w.check(10_000n - WINDOW));
  t.false(w.accept(0n));
});

test('a jump far ahead forgets the old window completely', (t) => {
  const w = new testing.ReplayWindow();
  for (let c = 0n; c < 100n; c++) w.accept(c);
  t.true(w.accept(1_000_000n));
  // counters close behind the jump were never seen, though their bit positions were used before
  for (let c = 1_000_000n - 100n; c < 1_000_000n; c++) t.true(w.check(c), String(c));
});

test('counter zero first, and the REJECT_AFTER_MESSAGES limit', (t) => {
  const w = new testing.ReplayWindow();
  t.true(w.accept(0n));
  t.false(w.accept(0n));
  t.false(w.accept(REJECT_AFTER_MESSAGES));
  t.true(w.accept(REJECT_AFTER_MESSAGES - 1n));
});

test('property: the native window agrees with the model on any sequence', (t) => {
  // Counters cluster around a moving point so the sequences exercise in-window reordering,
  // duplicates, stale packets and jumps, not just far-apart random numbers.
  const step = fc.oneof(
    fc.bigInt({ min: -200n, max: 200n }),
    fc.bigInt({ min: -9000n, max: 9000n }),
    fc.bigInt({ min: 0n, max: 1n << 20n }),
  );
  const agree = () =>
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        fc.array(step, { maxLength: 400 }),
        (start, steps) => {
          const native = new testing.ReplayWindow();
          const model = new ModelWindow();
          let c = start;
          for (const s of steps) {
            c = c + s < 0n ? 0n : c + s;
            if (native.check(c) !== model.check(c)) return false;
            if (native.accept(c) !== model.accept(c)) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  t.notThrows(agree);
});
