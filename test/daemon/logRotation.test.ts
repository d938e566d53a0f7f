import fs from 'node:fs';
import test from 'ava';
import { logFilePath, nodeLog, openLogForAppend } from '../../core/daemon/logFile.js';
import { tempStateDir } from '../helpers/fakeNode.js';

test('a running node keeps its overlay.log under the cap: the old lines move to overlay.log.1', (t) => {
  const dir = tempStateDir(t);
  const { fd } = openLogForAppend(dir);
  t.teardown(() => fs.closeSync(fd));
  const cap = 4096;
  const log = nodeLog(dir, { fd, capBytes: cap, now: () => new Date(0) });
  // About 20 caps' worth of lines (a relay flapping once a second for hours, in miniature).
  for (let i = 0; i < 2000; i++) log(`path to b: relay via c (relay-lost) ${i}`);
  const file = logFilePath(dir);
  const size = fs.statSync(file).size;
  t.true(size <= cap + 100, `overlay.log is ${size} bytes`);
  const current = fs.readFileSync(file, 'utf8');
  const old = fs.readFileSync(`${file}.1`, 'utf8');
  t.true(current.endsWith('(relay-lost) 1999\n'), 'the newest line is in overlay.log');
  t.regex(current, /^1970-01-01T00:00:00\.000Z path to b/, 'the file starts at a whole line');
  t.true(old.length > 0 && old.length <= cap + 200);
  t.is(fs.statSync(`${file}.1`).mode & 0o777, 0o600);
});

test('a node logging to a terminal or pipe (not its overlay.log) never touches the log files', (t) => {
  const dir = tempStateDir(t);
  const other = `${dir}/elsewhere.log`;
  const fd = fs.openSync(other, 'a', 0o600);
  t.teardown(() => fs.closeSync(fd));
  const log = nodeLog(dir, { fd, capBytes: 1024 });
  for (let i = 0; i < 500; i++) log(`line ${i}`);
  t.true(fs.statSync(other).size > 1024 * 5, 'everything written where asked');
  t.false(fs.existsSync(`${logFilePath(dir)}.1`));
});
