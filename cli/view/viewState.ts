/**
 * What the keyboard does, as a pure function of the view's state: which member is selected,
 * which panel is open, the filter text. The selection is a member's public key, not a row
 * number, so it stays on the same member while the list around it changes.
 */

export type Mode = 'table' | 'filter' | 'detail' | 'invite';

export interface ViewState {
  mode: Mode;
  filter: string;
  selected: string | null;
}

export const initialViewState: ViewState = { mode: 'table', filter: '', selected: null };

/** The subset of Ink's Key this reducer reads. */
export interface KeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
}

/** Side effects the component carries out after the state change. */
export type Effect = 'quit' | 'invite' | 'ping' | null;

export interface KeyResult {
  state: ViewState;
  effect: Effect;
}

/** The selected member among those shown: the remembered one if still visible, else the first. */
export function resolveSelected(selected: string | null, visible: readonly string[]): string | null {
  if (selected !== null && visible.includes(selected)) return selected;
  return visible[0] ?? null;
}

function moved(state: ViewState, visible: readonly string[], delta: number): ViewState {
  const current = resolveSelected(state.selected, visible);
  if (current === null) return state;
  const i = visible.indexOf(current);
  const next = visible[Math.min(visible.length - 1, Math.max(0, i + delta))]!;
  return { ...state, selected: next };
}

const PAGE = 10;

function movement(input: string, key: KeyFlags, lettersMove: boolean): number {
  if (key.upArrow || (lettersMove && input === 'k')) return -1;
  if (key.downArrow || (lettersMove && input === 'j')) return 1;
  if (key.pageUp) return -PAGE;
  if (key.pageDown) return PAGE;
  return 0;
}

/** `visible`: the public keys of the members the table shows now, in order. */
export function onKey(state: ViewState, input: string, key: KeyFlags, visible: readonly string[]): KeyResult {
  const none = (s: ViewState): KeyResult => ({ state: s, effect: null });
  if (key.ctrl && input === 'c') return { state, effect: 'quit' };

  if (state.mode === 'filter') {
    // Letters are text here, so only the arrows move.
    const d = movement(input, key, false);
    if (d !== 0) return none(moved(state, visible, d));
    if (key.escape) return none({ ...state, mode: 'table', filter: '' });
    if (key.return) return none({ ...state, mode: 'table' });
    if (key.backspace || key.delete)
      return none({ ...state, filter: [...state.filter].slice(0, -1).join('') });
    if (key.ctrl || key.meta || key.tab || input === '') return none(state);
    return none({ ...state, filter: state.filter + input });
  }

  if (input === 'q') return { state, effect: 'quit' };

  if (state.mode === 'invite') {
    if (key.escape || key.return || input === 'i') return none({ ...state, mode: 'table' });
    return none(state);
  }

  const d = movement(input, key, true);
  if (d !== 0) return none(moved(state, visible, d));
  if (input === 'p' && resolveSelected(state.selected, visible) !== null) {
    return { state: { ...state, selected: resolveSelected(state.selected, visible) }, effect: 'ping' };
  }

  if (state.mode === 'detail') {
    if (key.escape || key.return) return none({ ...state, mode: 'table' });
    return none(state);
  }

  // mode === 'table'
  if (key.return) {
    const sel = resolveSelected(state.selected, visible);
    return none(sel === null ? state : { ...state, selected: sel, mode: 'detail' });
  }
  if (input === '/') return none({ ...state, mode: 'filter' });
  if (input === 'i') return { state: { ...state, mode: 'invite' }, effect: 'invite' };
  if (key.escape && state.filter !== '') return none({ ...state, filter: '' });
  return none(state);
}
