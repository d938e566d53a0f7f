import test from 'ava';
import fc from 'fast-check';
import { sparkline } from '../../cli/view/sparkline.js';

test('a sparkline scales to its own peak, newest sample on the right', (t) => {
  t.is(sparkline([0, 1, 2, 4, 8], 5), '▁▂▃▅█');
  t.is(sparkline([8, 0], 2), '█▁');
});

test('a short history is padded on the left so samples line up at the right edge', (t) => {
  t.is(sparkline([5, 5], 4), '  ██');
  t.is(sparkline([], 3), '   ');
});

test('only the most recent samples that fit are drawn', (t) => {
  t.is(sparkline([100, 0, 0, 1], 3), '▁▁█');
});

test('a trickle next to a burst still shows above the idle baseline', (t) => {
  t.is(sparkline([1, 1000, 0], 3), '▂█▁');
});

test('a sparkline is always exactly as wide as asked', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e12, noNaN: true })),
        fc.integer({ min: 0, max: 30 }),
        (xs, w) => {
          const s = [...sparkline(xs, w)];
          return s.length === w && s.every((c) => ' ▁▂▃▄▅▆▇█'.includes(c));
        },
      ),
    ),
  );
});
