import test from 'ava';
import fc from 'fast-check';
import { type ColumnSpec, layoutColumns } from '../../cli/view/layout.js';

const specs: ColumnSpec[] = [
  { id: 'name', want: 10, min: 6, priority: 100, required: true },
  { id: 'path', want: 15, min: 6, priority: 80, required: true },
  { id: 'rtt', want: 5, min: 5, priority: 70 },
  { id: 'spark', want: 20, min: 6, priority: 20 },
  { id: 'endpoint', want: 21, min: 12, priority: 10 },
];
const widthOf = (cols: { width: number }[], gap: number, prefix: number) =>
  prefix + cols.reduce((n, c) => n + c.width, 0) + gap * Math.max(0, cols.length - 1);

test('everything at its natural width when the terminal is wide enough', (t) => {
  const cols = layoutColumns(specs, 200, 2, 4);
  t.deepEqual(
    cols.map((c) => [c.id, c.width]),
    specs.map((s) => [s.id, s.want]),
  );
});

test('the room left goes to the most important columns; the least important one is clipped', (t) => {
  // Natural: 4 + 71 + 8 = 83, three too many for 80.
  const cols = layoutColumns(specs, 80, 2, 4);
  t.is(cols.find((c) => c.id === 'endpoint')?.width, 18);
  t.is(cols.find((c) => c.id === 'spark')?.width, 20);
  t.is(widthOf(cols, 2, 4), 80);
});

test('a column whose minimum does not fit is dropped, lowest priority first, and the rest grow back', (t) => {
  const cols = layoutColumns(specs, 40, 2, 4);
  t.deepEqual(
    cols.map((c) => [c.id, c.width]),
    [
      ['name', 10],
      ['path', 9],
      ['rtt', 5],
      ['spark', 6],
    ],
  );
  t.is(widthOf(cols, 2, 4), 40);
});

test('required columns are never dropped, only shrunk to their minimum', (t) => {
  const cols = layoutColumns(specs, 10, 2, 4);
  t.deepEqual(
    cols.map((c) => [c.id, c.width]),
    [
      ['name', 6],
      ['path', 6],
    ],
  );
});

test('whenever the required minimums fit, the layout fits and keeps column order', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 24, max: 200 }), (total) => {
        const cols = layoutColumns(specs, total, 2, 4);
        const order = specs.map((s) => s.id).filter((id) => cols.some((c) => c.id === id));
        return (
          widthOf(cols, 2, 4) <= total &&
          cols.every((c, i) => c.id === order[i]) &&
          cols.every((c) => c.width >= specs.find((s) => s.id === c.id)!.min)
        );
      }),
    ),
  );
});
