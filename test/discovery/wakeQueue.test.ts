/**
 * The wake queue Discovery ticks its paths by (core/discovery/wakeQueue.ts): whatever the order of
 * schedules, replacements and deletions, it hands out exactly the keys a plain map of wake times
 * says are due, earliest first and ties in the order they were scheduled, each once.
 */
import test from 'ava';
import fc from 'fast-check';
import { WakeQueue } from '../../core/discovery/wakeQueue.js';

type Op =
  | { op: 'schedule'; key: number; at: number }
  | { op: 'delete'; key: number }
  | { op: 'take'; now: number };

const ops = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant('schedule' as const),
      key: fc.integer({ min: 0, max: 9 }),
      at: fc.integer({ min: 0, max: 50 }),
    }),
    fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ op: fc.constant('take' as const), now: fc.integer({ min: 0, max: 60 }) }),
  ),
  { maxLength: 300 },
);

/** The model: key → (time, order scheduled); due keys sorted by time, then order. */
function modelTake(model: Map<number, { at: number; seq: number }>, now: number): number[] {
  const due = [...model]
    .filter(([, w]) => w.at <= now)
    .sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq);
  for (const [key] of due) model.delete(key);
  return due.map(([key]) => key);
}

test('hands out the due keys a plain map would, earliest first, ties in scheduling order', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(ops, (list: Op[]) => {
        const queue = new WakeQueue<number>();
        const model = new Map<number, { at: number; seq: number }>();
        let seq = 0;
        for (const o of list) {
          if (o.op === 'schedule') {
            queue.schedule(o.key, o.at);
            // Scheduling the time a key already has changes nothing, its place among ties included.
            if (model.get(o.key)?.at !== o.at) model.set(o.key, { at: o.at, seq: seq++ });
          } else if (o.op === 'delete') {
            queue.delete(o.key);
            model.delete(o.key);
          } else {
            const got = queue.takeDue(o.now);
            const want = modelTake(model, o.now);
            if (JSON.stringify(got) !== JSON.stringify(want))
              throw new Error(`at ${o.now}: got ${got}, want ${want}`);
          }
          const next = Math.min(...[...model.values()].map((w) => w.at));
          if (queue.next() !== next) throw new Error(`next ${queue.next()}, want ${next}`);
          if (queue.size !== model.size) throw new Error(`size ${queue.size}, want ${model.size}`);
        }
      }),
      { numRuns: 300 },
    ),
  );
});

test('rescheduling one key many times keeps the heap the size of the keys, not of the calls', (t) => {
  const queue = new WakeQueue<string>();
  for (let i = 0; i < 10; i++) queue.schedule(`k${i}`, 1_000);
  for (let round = 0; round < 10_000; round++) queue.schedule(`k${round % 10}`, 1_000 + (round % 7) + 1);
  t.is(queue.size, 10);
  const held = (queue as unknown as { heap: unknown[] }).heap.length;
  t.true(held <= 2 * 10 + 64, `${held} entries held`);
  // Only the live entries are handed out: ten keys, once each.
  t.is(queue.takeDue(2_000).length, 10);
  t.is(queue.next(), Number.POSITIVE_INFINITY);
});
