/**
 * SECURITY.md's promise is that each line names the test that proves it: every test file it
 * names must exist, and every quoted title after a `›` must be a test in that file. A renamed or
 * deleted test fails here, not silently in the document.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Curly apostrophes and line wrapping do not make a title different. */
function normalize(text: string): string {
  return text.replace(/[’‘]/g, "'").replace(/\s+/g, ' ');
}

interface Citation {
  file: string;
  titles: string[];
}

/** `test/FILE` › "title", "title" ...: the titles run until the next file or the end of the item. */
function citations(doc: string): Citation[] {
  const out: Citation[] = [];
  const flat = normalize(doc);
  const fileRef = /`(test\/[^`]+\.test\.ts)`/g;
  const refs = [...flat.matchAll(fileRef)];
  refs.forEach((ref, i) => {
    const start = (ref.index ?? 0) + ref[0].length;
    const end = refs[i + 1]?.index ?? flat.length;
    const tail = flat.slice(start, end);
    const titles: string[] = [];
    const cited = /^\s*›\s*/.exec(tail);
    if (cited) {
      // Quoted titles separated by commas (and "and"), up to the first text that is not one.
      const list = /^\s*"([^"]+)"(?:\s*,\s*|\s*(?:\(root\))?\s*)/;
      let rest = tail.slice(cited[0].length);
      for (let m = list.exec(rest); m; m = list.exec(rest)) {
        titles.push(m[1]!);
        rest = rest.slice(m[0].length);
      }
    }
    out.push({ file: ref[1]!, titles });
  });
  return out;
}

/** Whether a test in `source` has this title; `…` in a title stands for an interpolated part. */
function hasTitle(source: string, title: string): boolean {
  const pattern = title
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.{1,80}?');
  return new RegExp(`['"\`]${pattern}['"\`]`).test(source);
}

const doc = readFileSync(`${ROOT}SECURITY.md`, 'utf8');

test('every test SECURITY.md names exists, in the file it names', (t) => {
  const cited = citations(doc);
  t.true(cited.length >= 20, `only ${cited.length} test files cited`);
  const missing: string[] = [];
  let titles = 0;
  for (const { file, titles: names } of cited) {
    if (!existsSync(`${ROOT}${file}`)) {
      missing.push(`${file} (no such file)`);
      continue;
    }
    const source = normalize(readFileSync(`${ROOT}${file}`, 'utf8'));
    for (const title of names) {
      titles++;
      if (!hasTitle(source, title)) missing.push(`${file} › "${title}"`);
    }
  }
  t.deepEqual(missing, []);
  t.true(titles >= 60, `only ${titles} titles cited`);
});

test('the citation reader finds titles, and a title that is not a test is reported', (t) => {
  const sample = '- a claim: `test/x.test.ts` › "one", "two" (root); `test/y.test.ts` › "three".';
  t.deepEqual(citations(sample), [
    { file: 'test/x.test.ts', titles: ['one', 'two'] },
    { file: 'test/y.test.ts', titles: ['three'] },
  ]);
  const interpolated = ['test(`a join named ', '$', '{JSON.stringify(name)} is refused`, '].join('');
  t.true(hasTitle(interpolated, 'a join named … is refused'));
  t.false(hasTitle("test('a join is refused', ", 'a join named … is refused'));
});
