/**
 * The live view of a host in several networks: a line naming them, and Tab showing the next one's
 * view (issue 14), each fed by its own node's source.
 */
import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { NetworkSwitcher, networkTabs, nextNetwork } from '../../cli/view/NetworkSwitcher.js';
import { FakeActions, FakeSource } from './fakeSource.js';
import { statusAt, T0 } from './fixtures.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('the tabs line names every network, the shown one in brackets; Tab goes on and shift-Tab back, round', (t) => {
  t.is(networkTabs(['home', 'work'], 1), 'networks:  home  [work]   tab: next network');
  t.is(nextNetwork(3, 2, false), 0);
  t.is(nextNetwork(3, 0, true), 2);
});

test("Tab switches the view to the next network's node, and its source is the one subscribed", async (t) => {
  const home = new FakeSource();
  const work = new FakeSource();
  const app = render(
    createElement(NetworkSwitcher, {
      networks: [
        { name: 'home', source: home, actions: new FakeActions() },
        { name: 'work', source: work, actions: new FakeActions() },
      ],
      color: false,
      columns: 100,
      rows: 40,
      now: () => T0,
      tickMs: 0,
    }),
  );
  t.teardown(() => {
    app.unmount();
    app.cleanup();
  });
  const until = async (ok: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !ok(); i++) await tick();
    if (!ok()) t.fail(`${what}; last frame:\n${app.lastFrame()}`);
  };
  await until(() => (app.lastFrame() ?? '').includes('[home]'), 'home shown first');
  home.state('running');
  home.emit(statusAt(0));
  await until(() => (app.lastFrame() ?? '').includes(statusAt(0).self.name), "home's node in view");
  t.throws(() => work.emit(statusAt(0)), { message: /not subscribed/ }, "work's node is not watched yet");
  app.stdin.write('\t');
  await until(() => (app.lastFrame() ?? '').includes('[work]'), 'work shown after Tab');
  await until(() => home.unsubscribed === 1, "home's source let go");
  t.notThrows(() => work.state('running'), "work's source is subscribed");
});
