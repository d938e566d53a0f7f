/**
 * The view at 80 columns, the width people most often have, kept as snapshots so a change to
 * the layout is a reviewed diff. Deterministic: fixed clock, recorded data, no colour.
 */
import test from 'ava';
import { KEY, mount, play } from './harness.js';

test('the table at 80 columns after the whole recording', async (t) => {
  const h = mount(t, { columns: 80, rows: 30 });
  await play(h);
  const f = h.frame();
  t.true(
    f.split('\n').every((l) => [...l].length <= 80),
    'no line is wider than the terminal',
  );
  t.snapshot(f);
  h.unmount();
});

test("the relayed member's detail panel at 80 columns", async (t) => {
  const h = mount(t, { columns: 80, rows: 30 });
  await play(h);
  await h.press('j', KEY.enter);
  const f = await h.until((x) => x.includes('why'), 'the detail panel');
  t.true(f.split('\n').every((l) => [...l].length <= 80));
  t.snapshot(f);
  h.unmount();
});
