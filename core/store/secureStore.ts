import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { OverlayError } from '../errors.js';
import { checkStateDir, errnoOf, requireOwnEntry, symlinkError } from './stateDir.js';

export type Validate<T> = (data: unknown) => T;

/**
 * A JSON state file holding secrets, kept by conf (atomic writes: temp file + rename, so a crash
 * mid-write leaves the old file or the new one, never a torn one), always mode 0600.
 * A file others can read, one of another user, a symbolic link in its place, or one that does not
 * parse or validate, is refused with a message naming the file and the fix — never regenerated, because that would silently change the
 * node's identity.
 */
export class SecureStore<T extends Record<string, unknown>> {
  readonly path: string;
  private readonly conf: Conf<T>;
  private readonly validate: Validate<T>;

  private constructor(file: string, conf: Conf<T>, validate: Validate<T>) {
    this.path = file;
    this.conf = conf;
    this.validate = validate;
  }

  static fileFor(dir: string, name: string): string {
    return path.join(dir, `${name}.json`);
  }

  /**
   * Deletes a store's file (a link in its place goes, never what it points at); nothing when it is
   * missing. The directory is checked first, as for reading: in one that is not ours, nothing is touched.
   */
  static remove(dir: string, name: string): void {
    if (checkStateDir(dir) === 'missing') return;
    const file = SecureStore.fileFor(dir, name);
    try {
      fs.rmSync(file, { force: true });
    } catch (e) {
      throw new OverlayError('ESTATE_DIR', `cannot remove ${file}: ${errnoOf(e) ?? String(e)}`, { cause: e });
    }
  }

  /** Opens an existing store; undefined when the file does not exist. */
  static open<T extends Record<string, unknown>>(
    dir: string,
    name: string,
    validate: Validate<T>,
  ): SecureStore<T> | undefined {
    const file = SecureStore.fileFor(dir, name);
    // The directory first: in one that is not ours, even reading a file means trusting its owner.
    if (checkStateDir(dir) === 'missing') return undefined;
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw new OverlayError('ESTORE_CORRUPT', `cannot read ${file}: ${errnoOf(e) ?? String(e)}`, {
        cause: e,
      });
    }
    if (stat.isSymbolicLink()) throw symlinkError('ESTORE_PERMS', file, file);
    requireOwnEntry('ESTORE_PERMS', file, file, stat);
    if (!stat.isFile()) {
      throw new OverlayError('ESTORE_CORRUPT', `${file} is not a regular file`, {
        hint: `move it away; overlay keeps its state in ${file}`,
      });
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new OverlayError(
        'ESTORE_PERMS',
        `${file} holds secret keys but other users can access it (mode ${(stat.mode & 0o777).toString(8)})`,
        { hint: `chmod 600 ${file}, and consider the key leaked if others could read it` },
      );
    }
    let conf: Conf<T>;
    try {
      conf = new Conf<T>({
        cwd: dir,
        configName: name,
        projectSuffix: '',
        configFileMode: 0o600,
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        watch: false,
      });
    } catch (e) {
      throw corrupt(file, e);
    }
    const store = new SecureStore(file, conf, validate);
    store.read(); // validate now so a corrupt file fails at open, not at first use
    return store;
  }

  /**
   * Creates the store with its first contents, exclusively: when two processes race to create
   * it, one wins and the other gets undefined (and should open the winner's).
   */
  static createExclusive<T extends Record<string, unknown>>(
    dir: string,
    name: string,
    initial: T,
    validate: Validate<T>,
  ): SecureStore<T> | undefined {
    const file = SecureStore.fileFor(dir, name);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    checkStateDir(dir);
    try {
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        fs.writeSync(fd, `${JSON.stringify(validate(initial), undefined, '\t')}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      // link() fails if the name exists, which makes creation exclusive and still atomic.
      fs.linkSync(tmp, file);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return undefined;
      throw new OverlayError('ESTATE_DIR', `cannot write ${file}: ${errnoOf(e) ?? String(e)}`, {
        hint: 'choose a writable --state-dir, or run with sudo if it belongs to root',
        cause: e,
      });
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return SecureStore.open(dir, name, validate);
  }

  read(): T {
    try {
      return this.validate(this.conf.store);
    } catch (e) {
      throw corrupt(this.path, e);
    }
  }

  /**
   * Writes `value` atomically. `serialisedFromValid`: the caller just made it from an in-memory
   * object that was validated when it was built (a roster whose every signature was checked), so
   * checking it again would only repeat that work on every save.
   */
  write(value: T, options: { serialisedFromValid?: boolean } = {}): void {
    const checked = options.serialisedFromValid ? value : this.validate(value);
    try {
      this.conf.store = checked;
    } catch (e) {
      throw new OverlayError('ESTATE_DIR', `cannot write ${this.path}: ${errnoOf(e) ?? String(e)}`, {
        cause: e,
      });
    }
  }
}

/**
 * What to do about each corrupt file: what moving it away costs differs. Writes are atomic, so a
 * corrupt file was changed by something else (a disk error, an editor, another program).
 */
function recoveryAdvice(file: string): string {
  const moveAway = `mv ${file} ${file}.bad`;
  switch (path.basename(file)) {
    case 'identity.json':
      return `restore it from a backup; or move it away (${moveAway}): this node then gets new keys and must join its network again with a new invite`;
    case 'network.json':
      return `restore it from a backup; or move it away (${moveAway}) with roster.json and invites.json: this node then belongs to no network`;
    case 'roster.json':
    case 'invites.json':
      return `restore it from a backup; this node cannot run its network without it`;
    default:
      return `restore it from a backup, or move it away (${moveAway})`;
  }
}

/**
 * The parser's own words, in one line: V8 quotes the start of the text and cuts it mid-quote
 * (`Unexpected token 'a', "abc{"versi"... is not valid JSON`); the quote tells the user nothing.
 */
function parserMessage(e: unknown): string {
  const first = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  return first.replace(/, ".*?"(\.\.\.)? is not valid JSON$/s, ': not valid JSON');
}

function corrupt(file: string, e: unknown): OverlayError {
  if (e instanceof OverlayError && e.code !== 'ESTORE_CORRUPT') return e;
  return new OverlayError('ESTORE_CORRUPT', `${file} is corrupt: ${parserMessage(e)}`, {
    hint: recoveryAdvice(file),
    cause: e,
  });
}
