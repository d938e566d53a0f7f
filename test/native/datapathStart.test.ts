import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Netns } from '../helpers/netns.js';
import { rootTest } from '../helpers/root.js';

const script = fileURLToPath(new URL('../fixtures/datapath-taken-port.js', import.meta.url));

rootTest(
  test,
  'a DataPath on a taken port throws EADDRINUSE and leaves nothing that keeps the process alive',
  async (t) => {
    const ns = new Netns('dpport');
    t.teardown(() => ns.destroy());
    const child = ns.spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const exit = await new Promise<number | null | 'hung'>((resolve) => {
      const timer = setTimeout(() => resolve('hung'), 5000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const report = JSON.parse(out.trim() || '{}') as {
      port?: number;
      thrown?: { code?: string; errno?: number; syscall?: string; message?: string };
    };
    t.like(report.thrown, { code: 'EADDRINUSE', errno: -98, syscall: 'bind' }, err);
    t.regex(report.thrown?.message ?? '', new RegExp(`UDP port ${report.port}`));
    t.is(exit, 0, `the process must exit by itself within 5 s once it has caught the error (${err})`);
  },
);
