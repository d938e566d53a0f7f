import test from 'ava';
import { initialViewState, onKey, resolveSelected, type ViewState } from '../../cli/view/viewState.js';

const visible = ['kb', 'kc', 'kd'];
const press = (s: ViewState, input: string, key = {}) => onKey(s, input, key, visible);

test('j/k and the arrows move the selection and stop at the ends', (t) => {
  let s = press(initialViewState, 'j').state;
  t.is(s.selected, 'kc');
  s = press(s, '', { downArrow: true }).state;
  s = press(s, 'j').state;
  t.is(s.selected, 'kd');
  s = press(s, '', { upArrow: true }).state;
  s = press(s, 'k').state;
  s = press(s, 'k').state;
  t.is(s.selected, 'kb');
});

test('the selection follows the member, not the row, and falls back to the first one shown', (t) => {
  t.is(resolveSelected('kc', ['ka', 'kc']), 'kc');
  t.is(resolveSelected('kz', ['ka', 'kc']), 'ka');
  t.is(resolveSelected(null, []), null);
});

test('enter opens the detail panel on the selected member; esc and enter close it', (t) => {
  const open = press(initialViewState, '', { return: true }).state;
  t.is(open.mode, 'detail');
  t.is(open.selected, 'kb');
  t.is(press(open, '', { escape: true }).state.mode, 'table');
  t.is(press(open, '', { return: true }).state.mode, 'table');
});

test('enter with no member shown opens nothing', (t) => {
  t.is(onKey(initialViewState, '', { return: true }, []).state.mode, 'table');
});

test('in the filter, letters are text (j does not move), backspace deletes, esc clears', (t) => {
  let s = press(initialViewState, '/').state;
  t.is(s.mode, 'filter');
  for (const c of 'jq') s = press(s, c).state;
  t.is(s.filter, 'jq');
  t.is(s.selected, null, 'j did not move the selection');
  s = press(s, '', { backspace: true }).state;
  t.is(s.filter, 'j');
  const kept = press(s, '', { return: true }).state;
  t.deepEqual([kept.mode, kept.filter], ['table', 'j']);
  const cleared = press(s, '', { escape: true }).state;
  t.deepEqual([cleared.mode, cleared.filter], ['table', '']);
});

test('q quits from the table, a panel or the invite, but is text in the filter', (t) => {
  t.is(press(initialViewState, 'q').effect, 'quit');
  t.is(press({ ...initialViewState, mode: 'detail' }, 'q').effect, 'quit');
  t.is(press({ ...initialViewState, mode: 'invite' }, 'q').effect, 'quit');
  t.is(press({ ...initialViewState, mode: 'filter' }, 'q').effect, null);
  t.is(press({ ...initialViewState, mode: 'filter' }, 'c', { ctrl: true }).effect, 'quit');
});

test('i asks for an invite, p pings the selected member', (t) => {
  const i = press(initialViewState, 'i');
  t.deepEqual([i.state.mode, i.effect], ['invite', 'invite']);
  const p = press({ ...initialViewState, selected: 'kd' }, 'p');
  t.deepEqual([p.state.selected, p.effect], ['kd', 'ping']);
  t.is(onKey(initialViewState, 'p', {}, []).effect, null, 'nothing to ping');
});
