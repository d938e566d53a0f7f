/**
 * A member who turned hostile: `overlay up --foreground` exactly as shipped, but with a data path
 * that believes one peer (the victim) owns more addresses than its certificate says. This member's
 * kernel may then route any address it likes into its tunnel to the victim, and its data path
 * accepts whatever comes back from them: what a member who rebuilt overlay, or runs a stock
 * WireGuard with a wide AllowedIPs, can do with its own keys. The victim's side is untouched.
 *
 *   HOSTILE_VICTIM  an overlay address of the victim in this network (its allowed IPs hold it)
 *   HOSTILE_CLAIM   comma-separated prefixes to add to the victim's allowed IPs here
 *
 * Run as `node hostileMember.js up --foreground --state-dir DIR` in the member's namespace.
 */
import { runProgram } from '../../cli/program.js';
import { nativeIo } from '../../core/tunnel/io.js';

const victim = process.env['HOSTILE_VICTIM'] ?? '';
const claim = (process.env['HOSTILE_CLAIM'] ?? '').split(',').filter((x) => x !== '');
if (victim === '' || claim.length === 0) throw new Error('HOSTILE_VICTIM and HOSTILE_CLAIM are needed');

const open = nativeIo.openDataPath;
nativeIo.openDataPath = (tun, options, onEvents) => {
  const datapath = open(tun, options, onEvents);
  const setPeer: typeof datapath.setPeer = (peer, allowedIps, endpoint, opts) => {
    const wide = allowedIps.some((a) => a.split('/')[0] === victim) ? [...allowedIps, ...claim] : allowedIps;
    datapath.setPeer(peer, wide, endpoint, opts);
  };
  // The native object's methods cannot be replaced on it: a proxy stands in front of it instead.
  return new Proxy(datapath, {
    get(target, key) {
      if (key === 'setPeer') return setPeer;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};

process.exitCode = await runProgram(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
