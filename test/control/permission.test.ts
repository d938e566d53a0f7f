/**
 * Its own file because, as root, it briefly changes this process's effective uid: no other test may
 * run alongside it in this process.
 */
import fs from 'node:fs';
import test from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { OverlayError } from '../../core/errors.js';
import { startServer } from './harness.js';

const NOBODY = 65534;

test('a socket the user may not open says so and suggests sudo', async (t) => {
  const server = await startServer(t, { handlers: { ping: async () => 'pong' } });
  let connecting: Promise<ControlClient>;
  if (process.getuid?.() === 0) {
    // Root passes every permission check; connect as nobody, as a user without sudo would.
    // libuv calls connect(2) synchronously inside createConnection, so the uid only has to change
    // for this one call.
    process.seteuid!(NOBODY);
    try {
      connecting = ControlClient.connect(server.socketPath);
    } finally {
      process.seteuid!(0);
    }
  } else {
    fs.chmodSync(server.socketPath, 0o000);
    connecting = ControlClient.connect(server.socketPath);
  }
  const e = await t.throwsAsync(connecting, { instanceOf: OverlayError });
  t.is(e.code, 'EPERM');
  t.regex(e.message, /permission denied/);
  t.regex(e.hint ?? '', /sudo/);
});
