/**
 * The wireguard-go builds the tunnel bench compares against (issue 12, point 6): the one on PATH
 * (Debian bookworm's 0.0.20220316, without offloads) and the one users run today, from the
 * backports suite (0.0.20231211: TUN TSO/GRO, UDP GSO/GRO). The newer one is taken from a cache
 * directory, or fetched into it: `apt-get download` with a private sources list (the machine's
 * own Debian mirror, the suite set to CODENAME-backports) and private state directories, then
 * `dpkg -x`. Nothing is installed system-wide. (Debian's 0.0.20231211 package prints
 * "v0.0.20230223" for --version: its version.go was not bumped. So the version checked, for a
 * cached build as for a fresh one, is the package's: the first line of its Debian changelog.)
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const BACKPORTS_VERSION = '0.0.20231211';

/** The Debian mirror this machine uses (deb822 or one-line sources), else Debian's own. */
function debianMirror(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822) return deb822[1]!;
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text);
    if (line) return line[1]!;
  }
  return 'http://deb.debian.org/debian';
}

function codename(): string {
  const m = /^VERSION_CODENAME=(\w+)$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  if (!m) throw new Error('bench: no VERSION_CODENAME in /etc/os-release: not Debian?');
  return m[1]!;
}

/** Path of the backports build of wireguard-go, fetched into `cacheDir` the first time. */
export function backportsWireguardGo(
  cacheDir = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'overlay-bench'),
): string {
  const dir = join(cacheDir, `wireguard-go-${BACKPORTS_VERSION}`);
  const binary = join(dir, 'usr/bin/wireguard-go');
  if (existsSync(binary)) return checkedPackage(dir, binary);
  const work = mkdtempSync(join(tmpdir(), 'ovl-wggo-apt-'));
  try {
    for (const d of ['lists/partial', 'cache/archives/partial', 'download'])
      mkdirSync(join(work, d), { recursive: true });
    const suite = `${codename()}-backports`;
    writeFileSync(
      join(work, 'sources.list'),
      `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${debianMirror()} ${suite} main\n`,
    );
    const apt = [
      '-o',
      `Dir::Etc::SourceList=${join(work, 'sources.list')}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      `Dir::State::Lists=${join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${join(work, 'cache')}`,
      '-o',
      'Debug::NoLocking=1',
      '-o',
      'APT::Sandbox::User=root',
      '-qq',
    ];
    execFileSync('apt-get', [...apt, 'update'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    execFileSync('apt-get', [...apt, 'download', `wireguard-go/${suite}`], {
      cwd: join(work, 'download'),
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
    const deb = readdirSync(join(work, 'download')).find((f) => f.endsWith('.deb'));
    if (!deb?.includes(`_${BACKPORTS_VERSION}-`))
      throw new Error(
        `bench: apt-get download gave no wireguard-go ${BACKPORTS_VERSION} .deb from ${suite}: ${deb}`,
      );
    mkdirSync(dir, { recursive: true });
    execFileSync('dpkg', ['-x', join(work, 'download', deb), dir]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return checkedPackage(dir, binary);
}

/** `binary` if the package unpacked in `dir` says it is BACKPORTS_VERSION; throws otherwise. */
function checkedPackage(dir: string, binary: string): string {
  const changelog = join(dir, 'usr/share/doc/wireguard-go/changelog.Debian.gz');
  const first = existsSync(changelog)
    ? gunzipSync(readFileSync(changelog)).toString('utf8').split('\n', 1)[0]!
    : '(no Debian changelog)';
  if (!first.startsWith(`wireguard-go (${BACKPORTS_VERSION}-`))
    throw new Error(`bench: ${dir} does not hold wireguard-go ${BACKPORTS_VERSION}: ${first}`);
  return binary;
}
