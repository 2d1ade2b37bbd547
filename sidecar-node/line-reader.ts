/**
 * Splits a byte stream into newline-terminated lines with a size cap: a line longer than `maxBytes`
 * is skipped up to its newline and reported once, without buffering it.
 */
export class LineReader {
  #parts: Buffer[] = [];
  #size = 0;
  #skipping = false;

  constructor(
    readonly maxBytes: number,
    readonly onLine: (line: string) => void,
    readonly onTooLong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        this.onTooLong(this.#size + piece.byteLength);
        this.#size = 0;
        continue;
      }
      if (this.#size + piece.byteLength > this.maxBytes) {
        this.#reset();
        this.onTooLong(this.#size + piece.byteLength);
        continue;
      }
      const line = this.#parts.length ? Buffer.concat([...this.#parts, piece]).toString('utf8') : piece.toString('utf8');
      this.#reset();
      this.onLine(line);
    }
    const rest = chunk.subarray(start);
    if (!rest.byteLength) return;
    if (this.#skipping) {
      this.#size += rest.byteLength;
      return;
    }
    if (this.#size + rest.byteLength > this.maxBytes) {
      this.#skipping = true;
      this.#size += rest.byteLength;
      this.#parts = [];
      return;
    }
    this.#parts.push(Buffer.from(rest));
    this.#size += rest.byteLength;
  }

  #reset(): void {
    this.#parts = [];
    this.#size = 0;
  }
}
