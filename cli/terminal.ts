import type { Writable } from 'node:stream';
import qrcode from 'qrcode-terminal';

/** True when `stream` is a terminal a person is looking at (not a pipe or a file). */
export function isTty(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true;
}

/** A text as a QR code drawn with block characters, for a phone's camera. */
export function qrText(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (drawn) => {
    out = drawn;
  });
  return out;
}

/**
 * One line that rewrites itself on a terminal ("contacting the inviter (2/6)..."), and says
 * nothing when the output is not a terminal, so scripts and logs get only results.
 */
export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: Writable) {}

  update(text: string): void {
    if (!isTty(this.stream)) return;
    this.stream.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
