import test from 'ava';
import { FakeActions } from './fakeSource.js';
import { recordedStream, STEP_MS, withPathEvidence } from './fixtures.js';
import { KEY, mount, play } from './harness.js';

/** A panel's text with borders and line breaks gone, so an assertion does not depend on where words wrap. */
const flat = (frame: string) =>
  frame
    .split('\n')
    .map((l) => l.replace(/^│|│$/g, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ');

/** The table row of one member in the latest frame. */
const row = (frame: string, name: string) =>
  frame.split('\n').find((l) => l.slice(4).startsWith(`${name} `)) ?? '';

test('the table lists every member with address, path, RTT and handshake age, sorted by name', async (t) => {
  const h = mount(t);
  await play(h, 1);
  const f = h.frame();
  t.regex(f, /^alpha {2}100\.64\.0\.1 {2}fd5a:1f00:0:1::1 {2}up 2h03m {2}admin$/m);
  t.regex(row(f, 'bravo'), /\* bravo +100\.64\.0\.2 +direct +12ms/);
  t.regex(row(f, 'charlie'), /\* charlie +100\.64\.0\.3 +relay via delta +49ms/);
  t.regex(row(f, 'echo'), /- echo +100\.64\.0\.5 +- +- .* never/);
  t.regex(row(f, 'bravo'), /198\.51\.100\.7:51820/, 'the endpoint fits at 100 columns');
  const order = ['bravo', 'charlie', 'delta', 'echo'].map((n) => f.indexOf(`${n} `));
  t.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  h.unmount();
});

test('rates and the sparkline appear once two statuses have arrived', async (t) => {
  const h = mount(t);
  await play(h, 1);
  t.regex(row(h.frame(), 'bravo'), /12ms +- +- /, 'one status: no rate yet');
  t.notRegex(row(h.frame(), 'bravo'), /[▁▂▃▄▅▆▇█]/);
  h.clock.t += STEP_MS;
  h.source.emit(recordedStream[1]!);
  await h.until((f) => row(f, 'bravo').includes('244K'), 'a rate');
  t.regex(row(h.frame(), 'bravo'), /244K +49K +█/);
  h.clock.t += STEP_MS;
  h.source.emit(recordedStream[2]!);
  await h.until((f) => row(f, 'bravo').includes('391K'), 'the next rate');
  t.regex(row(h.frame(), 'bravo'), /391K +39K +▆█ /, 'the sparkline grows, scaled to its peak');
  h.unmount();
});

test('/ and typing filter by name or address; esc clears the filter', async (t) => {
  const h = mount(t);
  await play(h, 1);
  await h.press('/', 'c', 'h', 'a');
  let f = await h.until((x) => x.includes('filter: cha'), 'the filter line');
  t.truthy(row(f, 'charlie'));
  t.is(row(f, 'bravo'), '');
  t.is(row(f, 'echo'), '');
  await h.press(KEY.backspace, KEY.backspace, KEY.backspace, '0', '.', '4');
  f = await h.until((x) => x.includes('filter: 0.4'), 'an address filter');
  t.truthy(row(f, 'delta'));
  t.is(row(f, 'charlie'), '');
  await h.press(KEY.escape);
  f = await h.until((x) => !x.includes('filter:'), 'the filter cleared');
  t.truthy(row(f, 'bravo'));
  t.truthy(row(f, 'echo'));
  h.unmount();
});

test('a filter that matches nobody says so', async (t) => {
  const h = mount(t);
  await play(h, 1);
  await h.press('/', 'z', 'z', KEY.enter);
  const f = await h.until((x) => x.includes('no member matches "zz"'), 'the empty result');
  t.regex(f, /filter: zz {2}\(\/ edits, esc clears\)/);
  h.unmount();
});

test('arrows and j/k move the selection; enter opens the relayed member with its hint; esc closes', async (t) => {
  const h = mount(t);
  await play(h);
  const selected = (name: string) => (f: string) => row(f, name).startsWith('› ');
  t.true(selected('bravo')(h.frame()), 'the first member starts selected');
  await h.press('j', 'j');
  await h.until(selected('delta'), 'j twice to select delta');
  await h.press('k');
  await h.until(selected('charlie'), 'k to select charlie');
  await h.press(KEY.down);
  await h.until(selected('delta'), 'down to select delta');
  await h.press(KEY.up);
  await h.until(selected('charlie'), 'up to select charlie');
  await h.press(KEY.enter);
  const f = await h.until((x) => x.includes('why'), 'the detail panel');
  t.regex(f, /charlie {2}100\.64\.0\.3 {2}fd5a:1f00:0:1::3/);
  t.regex(f, /path +relay via delta/);
  t.regex(f, /why +traffic goes through delta/);
  t.regex(f, /NAT +here not measured yet; at charlie not measured yet/);
  t.regex(f, /candidates +not measured yet/);
  t.regex(
    flat(f),
    /hint UDP seems blocked or a NAT maps each destination differently; forwarding UDP port 51820 to this host/,
  );
  t.regex(f, /counters +node-wide: handshakesRefused 2, rxDatagrams 1500/);
  t.is(row(f, 'bravo'), '', 'the panel replaces the table');
  await h.press(KEY.escape);
  const back = await h.until((x) => !x.includes('why'), 'the table again');
  t.true(row(back, 'charlie').startsWith('› '), 'the selection is where it was');
  h.unmount();
});

test('the detail panel shows NAT behaviour and every candidate tried when the node reports them', async (t) => {
  const h = mount(t);
  h.source.state('running');
  h.source.emit(withPathEvidence(recordedStream[0]!));
  await h.until((f) => f.includes('charlie'), 'the table');
  await h.press('j', KEY.enter);
  const f = await h.until((x) => x.includes('why'), 'the detail panel');
  t.regex(f, /NAT +here endpoint-independent; at charlie endpoint-dependent/);
  t.regex(f, /candidates +198\.18\.7\.20:41641 \(local\) timeout; last answer 3s ago/);
  t.regex(f, /^│ +198\.51\.100\.33:61002 \(reflexive\) timeout; last answer 3s ago/m);
  t.regex(f, /RTT, loss +49ms; loss 0%; measured 2s ago/);
  t.regex(f, /certificate +member; expires in 30d00h/);
  t.regex(
    flat(f),
    /hint the NAT in front of charlie maps each destination to a different port; forwarding UDP port 41641 to charlie lets it go direct/,
  );
  h.unmount();
});

test('when the node is not running the view says how to start it, then shows the table once it is up', async (t) => {
  const h = mount(t);
  t.regex(await h.until((f) => f.includes('connecting'), 'connecting'), /connecting to the overlay node/);
  h.source.state('not-running', 'no socket at /var/lib/overlay/control.sock');
  const f = await h.until((x) => x.includes('not running'), 'the not-running state');
  t.regex(f, /overlay is not running on this machine \(no socket at \/var\/lib\/overlay\/control\.sock\)/);
  t.regex(f, /start it with: {2}sudo overlay up/);
  t.regex(f, /waiting for it to start/);
  await h.press('i', 'j', 'p');
  t.is(h.actions.invites, 0, 'no invite is asked of a node that is not there');
  t.deepEqual(h.actions.pinged, []);
  h.source.emit(recordedStream[0]!);
  const up = await h.until((x) => x.includes('bravo'), 'the table');
  t.true(row(up, 'bravo').startsWith('› '), 'keys pressed while waiting left no trace');
  t.notRegex(up, /not running/);
  h.source.state('not-running');
  t.regex(await h.until((x) => x.includes('not running'), 'stopped again'), /sudo overlay up/);
  t.is(h.source.unsubscribed, 0, 'the view keeps listening for the node to come back');
  h.unmount();
  t.is(h.source.unsubscribed, 1, 'and stops when it closes');
});

test('i opens an invite panel with the code and its QR', async (t) => {
  const h = mount(t);
  await play(h, 1);
  await h.press('i');
  const f = await h.until((x) => x.includes('invite code'), 'the invite panel');
  t.is(h.actions.invites, 1);
  t.regex(f, /invite code {2}ovl1-7kq2-m9xd-43fa/);
  t.regex(f, /expires +in 1h00m/);
  t.regex(f, /sudo overlay join ovl1-7kq2-m9xd-43fa/);
  t.regex(f, /█▀▀▀█ ▄▀ █▀▀▀█/);
  await h.press(KEY.escape);
  t.truthy(row(await h.until((x) => !x.includes('invite code'), 'the table'), 'bravo'));
  h.unmount();
});

test('a failed invite says why in the panel', async (t) => {
  const actions = new FakeActions();
  actions.createInvite = async () => {
    throw new Error('only an admin member can invite');
  };
  const h = mount(t, { actions });
  await play(h, 1);
  await h.press('i');
  t.regex(
    await h.until((x) => x.includes('could not'), 'the error'),
    /could not make an invite: only an admin member can invite/,
  );
  h.unmount();
});

test('p pings the selected member and shows the result under the table', async (t) => {
  const h = mount(t);
  await play(h, 1);
  await h.press('j', 'j', 'p');
  const f = await h.until((x) => x.includes('ping delta:'), 'the ping result');
  t.deepEqual(h.actions.pinged, ['delta']);
  t.regex(f, /ping delta: 12ms via direct/);
  h.unmount();
});

test('a failed ping says why', async (t) => {
  const h = mount(t, { actions: new FakeActions(undefined, new Error('no reply within 5 s')) });
  await play(h, 1);
  await h.press('p');
  t.regex(
    await h.until((x) => x.includes('failed'), 'the failure'),
    /ping bravo failed: no reply within 5 s/,
  );
  h.unmount();
});

test('q quits through onExit', async (t) => {
  const h = mount(t);
  await play(h, 1);
  await h.press('q');
  for (let i = 0; i < 100 && h.exits === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.is(h.exits, 1);
});

test('without colour the frame has no escape codes and online is still marked', async (t) => {
  const h = mount(t);
  await play(h, 1);
  t.notRegex(h.frame(), /\u001B\[/);
  t.regex(row(h.frame(), 'bravo'), /^› \* /);
  t.regex(row(h.frame(), 'echo'), /^ {2}- /);
  h.unmount();
});

test('a long member list scrolls to keep the selection on screen', async (t) => {
  const h = mount(t, { rows: 14 });
  const base = recordedStream[0]!;
  const many = Array.from({ length: 30 }, (_, i) => ({
    ...base.peers[1]!,
    name: `m${String(i).padStart(2, '0')}`,
    publicKey: `key${i}`,
  }));
  h.source.emit({ ...base, peers: many });
  await h.until((f) => f.includes('m00'), 'the table');
  t.true(h.frame().split('\n').length < 14, 'never as tall as the terminal');
  t.regex(h.frame(), /↓ \d+ more/);
  for (let i = 0; i < 20; i++) await h.press('j');
  const f = await h.until((x) => row(x, 'm20').startsWith('› '), 'm20 selected');
  t.regex(f, /↑ \d+ more/);
  t.true(f.split('\n').length < 14);
  h.unmount();
});

test('between statuses the tick keeps ages counting and lets an idle link fall to zero', async (t) => {
  const h = mount(t, { tickMs: 10 });
  await play(h, 2);
  t.regex(row(h.frame(), 'bravo'), /244K +49K +█ +5s/);
  // The watch stream sends nothing while nothing changes; three quiet seconds pass.
  h.clock.t += 3 * STEP_MS;
  const f = await h.until((x) => / 8s /.test(row(x, 'bravo')), 'the age to move on');
  t.regex(row(f, 'bravo'), /0B +0B +█▁ +8s/);
  t.regex(f, /up 2h03m/);
  h.unmount();
});
