import test from 'ava';
import {
  age,
  clip,
  compactBytes,
  duration,
  elapsed,
  fitWidth,
  pathLabel,
  rtt,
  wrapText,
} from '../../cli/view/format.js';

test('compact byte counts stay within five characters across every unit', (t) => {
  t.is(compactBytes(0), '0B');
  t.is(compactBytes(1023), '1023B');
  t.is(compactBytes(1024), '1.0K');
  t.is(compactBytes(10_188), '9.9K');
  t.is(compactBytes(10_200), '10K');
  t.is(compactBytes(250_000), '244K');
  t.is(compactBytes(3 * 1024 ** 3), '3.0G');
  for (let n = 1; n < 2 ** 50; n *= 3) t.true(compactBytes(n).length <= 5, `${n} -> ${compactBytes(n)}`);
});

test('ages count from the injected clock and say never when there was no handshake', (t) => {
  const now = Date.parse('2025-01-15T12:00:00Z');
  t.is(age(null, now), 'never');
  t.is(age('2025-01-15T11:59:56Z', now), '4s');
  t.is(age('2025-01-15T11:55:00Z', now), '5m');
  t.is(age('2025-01-15T09:00:00Z', now), '3h');
  t.is(age('2025-01-13T12:00:00Z', now), '2d');
  t.is(age('2025-01-15T12:00:05Z', now), '0s', 'a clock slightly behind the node never shows a negative age');
});

test('durations keep the two largest units', (t) => {
  t.is(duration(45), '45s');
  t.is(duration(185), '3m05s');
  t.is(duration(7380), '2h03m');
  t.is(duration(4 * 86400 + 7200), '4d02h');
  t.is(elapsed(350), '350ms');
  t.is(elapsed(1250), '1.3s');
});

test('round-trip times keep precision where it matters', (t) => {
  t.is(rtt(null), '-');
  t.is(rtt(0.42), '0.4ms');
  t.is(rtt(48.7), '49ms');
  t.is(rtt(1530), '1.5s');
});

test('the path names the relay', (t) => {
  t.is(pathLabel('direct', null), 'direct');
  t.is(pathLabel('relay', 'delta'), 'relay via delta');
  t.is(pathLabel('relay', null), 'relay');
  t.is(pathLabel(null, null), '-');
});

test('clipped text is marked with an ellipsis and fitted text is exactly as wide as asked', (t) => {
  t.is(clip('charlie', 7), 'charlie');
  t.is(clip('charlie', 5), 'char…');
  t.is(fitWidth('ab', 4), 'ab  ');
  t.is(fitWidth('ab', 4, 'right'), '  ab');
  t.is(fitWidth('abcdef', 4), 'abc…');
});

test('wrapped text never exceeds the width and keeps spacing inside a line', (t) => {
  t.deepEqual(wrapText('alpha  100.64.0.1  up 2h', 40), ['alpha  100.64.0.1  up 2h']);
  t.deepEqual(wrapText('one two three four', 9), ['one two', 'three', 'four']);
  t.deepEqual(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  const long =
    'UDP seems blocked or a NAT maps each destination differently; forwarding UDP port 51820 lets it go direct.';
  for (const w of [14, 23, 40, 77]) {
    const lines = wrapText(long, w);
    t.true(
      lines.every((l) => l.length <= w),
      `width ${w}`,
    );
    t.is(lines.join(' '), long);
  }
});
