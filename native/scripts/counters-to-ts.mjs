#!/usr/bin/env node
// Writes native/counters.d.ts, the TypeScript type of DataPath.stats(), from the one table of
// counters in native/src/datapath/engine_counters.h. With --check it writes nothing and exits 1
// when the file is not what the table makes (test/native/counters.test.ts runs that).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TABLE = fileURLToPath(new URL('../src/datapath/engine_counters.h', import.meta.url));
const OUT = fileURLToPath(new URL('../counters.d.ts', import.meta.url));

/** The table's entries and section comments, in order. */
export function readTable(header) {
  const start = header.indexOf('#define OVERLAY_ENGINE_COUNTERS(X)');
  if (start < 0) throw new Error('engine_counters.h: no OVERLAY_ENGINE_COUNTERS table');
  const lines = [];
  for (const raw of header.slice(start).split('\n').slice(1)) {
    const continued = /\\\s*$/.test(raw);
    lines.push(raw.replace(/\\\s*$/, '').trim());
    if (!continued) break;
  }
  const body = lines.join(' ');
  const items = [];
  const token = /\/\*\s*(.*?)\s*\*\/|X\(\s*(\w+)\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*\)/g;
  for (const m of body.matchAll(token)) {
    if (m[1] !== undefined) items.push({ section: m[1] });
    else items.push({ field: m[2], name: m[3], doc: m[4] });
  }
  return items;
}

export function render(items) {
  const out = [
    '// Made by native/scripts/counters-to-ts.mjs from native/src/datapath/engine_counters.h: edit',
    '// the table there, then run `npm run gen:counters`.',
    '',
    '/** Drop and traffic counters of the whole data path: every discarded datagram lands in one. */',
    'export interface DataPathStats {',
  ];
  for (const item of items) {
    if ('section' in item) out.push(`  // ${item.section}`);
    else out.push(`  /** ${item.doc} */`, `  ${item.name}: number;`);
  }
  out.push('}', '');
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = render(readTable(readFileSync(TABLE, 'utf8')));
  if (process.argv.includes('--check')) {
    let have = '';
    try {
      have = readFileSync(OUT, 'utf8');
    } catch {}
    if (have !== wanted) {
      console.error('native/counters.d.ts is out of date with engine_counters.h: run npm run gen:counters');
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, wanted);
  }
}
