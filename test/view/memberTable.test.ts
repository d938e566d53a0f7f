import test from 'ava';
import { memberTable } from '../../cli/view/memberTable.js';
import { emptyTraffic, observe } from '../../cli/view/traffic.js';
import { STEP_MS, statusAt, T0 } from './fixtures.js';

const traffic = observe(observe(emptyTraffic, statusAt(0), T0), statusAt(1), T0 + STEP_MS);
const peers = statusAt(1).peers;
const ids = (width: number) => memberTable(peers, traffic, T0 + STEP_MS, width).columns.map((c) => c.id);
const lineWidth = (width: number) => {
  const t = memberTable(peers, traffic, T0 + STEP_MS, width);
  return 4 + t.columns.reduce((n, c) => n + c.width, 0) + 2 * (t.columns.length - 1);
};

test('a wide terminal shows every column', (t) => {
  t.deepEqual(ids(140), ['name', 'address', 'path', 'rtt', 'rates', 'traffic', 'handshake', 'endpoint']);
});

test('at 80 columns the endpoint goes first, then the sparkline narrows', (t) => {
  const at80 = memberTable(peers, traffic, T0 + STEP_MS, 80);
  t.false(at80.columns.some((c) => c.id === 'endpoint'));
  const spark = at80.columns.find((c) => c.id === 'traffic');
  t.truthy(spark);
  t.true(spark!.width < 20);
  t.true(lineWidth(80) <= 80);
});

test('a very narrow terminal keeps name, address and path', (t) => {
  t.deepEqual(ids(40).slice(0, 3), ['name', 'address', 'path']);
  t.false(ids(40).includes('traffic'));
});

test('cells are exactly as wide as their column', (t) => {
  const table = memberTable(peers, traffic, T0 + STEP_MS, 80);
  for (const row of table.rows) {
    row.cells.forEach((c, i) => {
      t.is([...c.text].length, table.columns[i]!.width, `${row.peer.name} ${c.id}`);
    });
  }
});

test('a narrow path column says "via NAME" rather than hiding the relay behind an ellipsis', (t) => {
  for (let width = 40; width <= 100; width++) {
    const table = memberTable(peers, traffic, T0 + STEP_MS, width);
    const charlie = table.rows.find((r) => r.peer.name === 'charlie')!;
    const path = charlie.cells.find((c) => c.id === 'path')!.text.trim();
    t.true(path === 'relay via delta' || path === 'via delta', `width ${width}: ${path}`);
  }
});

test('received and sent rates appear and disappear together', (t) => {
  for (let width = 40; width <= 100; width++) {
    const row = memberTable(peers, traffic, T0 + STEP_MS, width).rows.find((r) => r.peer.name === 'bravo')!;
    const rates = row.cells.find((c) => c.id === 'rates');
    if (rates) t.regex(rates.text, /244K +49K/, `width ${width}`);
  }
});
