/**
 * Progress of a long client command on stderr, so stdout keeps only the result. On a terminal the current
 * status is one line rewritten in place; anywhere else (a log, CI, a pipe) a status is written only when the
 * caller marks it as a milestone, as a whole line — no carriage returns or escape codes in a log file.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Progress {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  #showing = false;

  constructor(stream: ProgressStream = process.stderr) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** The current status: shown in place on a terminal; elsewhere written as a line only if `milestone`. */
  status(text: string, milestone = false): void {
    if (this.#tty) {
      this.#stream.write(`\r\x1b[K${text}`);
      this.#showing = true;
    } else if (milestone) {
      this.#stream.write(`${text}\n`);
    }
  }

  /** A line that stays (a file done, a problem found), above the status on a terminal. */
  line(text: string): void {
    this.clear();
    this.#stream.write(`${text}\n`);
  }

  /** Removes the status line (before the command's result or error is printed). */
  clear(): void {
    if (!this.#showing) return;
    this.#stream.write('\r\x1b[K');
    this.#showing = false;
  }
}
