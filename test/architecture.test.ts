/**
 * The house rules a reviewer would otherwise check by hand (issue 11, "Done when"): no import
 * cycles in core/ and cli/ — type-only imports included, since a type import still ties two
 * modules' reasons to change together (admin.ts and node.ts were such a pair) — and no file in
 * core/ over 400 lines unless it says at its top why it is long. The cycle search is dpdm's
 * (a devDependency); each guard is also shown failing on a small bad example, so a guard that
 * silently stopped looking would be caught.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parseCircular, parseDependencyTree } from 'dpdm';

/** The repository's root: tests run compiled from dist/test/, the rules apply to the sources. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A core/ file longer than this must say why at its top (STYLE.md: "a file over ~400 lines is a smell"). */
const MAX_LINES = 400;
/** The marker of a stated reason, among the file's opening lines: `// Long file: ` and why. */
const LONG_FILE_MARKER = /^\/\/ Long file: \S.{10,}/;

/** Import cycles among the files `globs` match under `context`, each as the list of files on it. */
async function importCycles(context: string, globs: string[]): Promise<string[][]> {
  // transform: false keeps `import type` edges: a cycle through types is still a cycle.
  // Its tsconfig.json lets dpdm resolve NodeNext's `./x.js` imports to the `./x.ts` sources.
  const tsconfig = path.join(context, 'tsconfig.json');
  const tree = await parseDependencyTree(globs, { context, cwd: context, tsconfig, transform: false });
  return parseCircular(tree);
}

/** The lines before the first statement: the file's opening comments, where its reason belongs. */
function header(text: string): string[] {
  const lines = text.split('\n');
  const firstCode = lines.findIndex((l) =>
    /^(import|export|const|let|function|class|interface|type)\b/.test(l),
  );
  return lines.slice(0, firstCode === -1 ? lines.length : firstCode);
}

/** Files over MAX_LINES whose top states no reason, with their line counts. */
function longFilesWithoutReason(files: { path: string; text: string }[]): string[] {
  return files
    .map((f) => ({ ...f, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > MAX_LINES && !header(f.text).some((l) => LONG_FILE_MARKER.test(l)))
    .map((f) => `${f.path} (${f.lines} lines)`);
}

function tsFilesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(dir, name))
    .map((p) => ({ path: p, text: readFileSync(path.join(root, p), 'utf8') }));
}

function scratch(t: import('ava').ExecutionContext, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'overlay-arch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

test('core/ and cli/ have no import cycles, type-only imports counted', async (t) => {
  const cycles = await importCycles(root, ['core/**/*.ts', 'cli/**/*.ts', 'cli/**/*.tsx']);
  t.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(' -> ')).join('\n')}`);
});

test('the cycle search finds a cycle closed by a type-only import', async (t) => {
  const dir = scratch(t, {
    'node.ts': "import { redeem } from './admin.js';\nexport class Node {}\nexport const r = redeem;\n",
    'admin.ts':
      "import type { Node } from './node.js';\nexport function redeem(n: Node): Node {\n  return n;\n}\n",
    'leaf.ts': "import { Node } from './node.js';\nexport const leaf = new Node();\n",
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' },
    }),
  });
  const cycles = await importCycles(dir, ['*.ts']);
  t.is(cycles.length, 1);
  t.deepEqual([...cycles[0]!].sort(), ['admin.ts', 'node.ts']);
});

test(`every file in core/ has at most ${MAX_LINES} lines, or says at its top why it is longer`, (t) => {
  const files = tsFilesUnder('core');
  t.true(files.length > 50, 'the walk found core/');
  const long = longFilesWithoutReason(files);
  t.deepEqual(long, []);
});

test('the length rule refuses a long file without a reason, and takes one with a reason at its top', (t) => {
  const body = 'export const x = 1;\n'.repeat(MAX_LINES + 1);
  const reasoned = `/**\n * A state machine.\n */\n// Long file: one state machine that reads best whole.\n${body}`;
  const reasonInside = `/** A state machine. */\n${body}// Long file: one state machine that reads best whole.\n`;
  t.deepEqual(
    longFilesWithoutReason([
      { path: 'long.ts', text: body },
      { path: 'reasoned.ts', text: reasoned },
      { path: 'buried.ts', text: reasonInside },
      { path: 'short.ts', text: 'export const x = 1;\n'.repeat(MAX_LINES) },
    ]),
    [`long.ts (${MAX_LINES + 1} lines)`, `buried.ts (${MAX_LINES + 3} lines)`],
  );
});
