/** The bottom lines: an active filter, and the keys that work right now. */
import type { Mode } from './viewState.js';

export function footerLines(mode: Mode, filter: string): string[] {
  switch (mode) {
    case 'filter':
      return [`filter: ${filter}▏  enter keeps  esc clears`];
    case 'detail':
      return ['esc/enter close  ↑↓ jk other member  p ping  q quit'];
    case 'invite':
      return ['esc/enter close  q quit'];
    case 'table':
      return [
        ...(filter ? [`filter: ${filter}  (/ edits, esc clears)`] : []),
        '↑↓ jk move  enter details  / filter  i invite  p ping  q quit  * online',
      ];
  }
}
