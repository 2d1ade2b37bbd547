/** A JSON-lines client on a Unix socket: send a line, await the next line that matches. */
import { connect, type Socket } from 'node:net';

export class LineClient {
  private buf = '';
  private waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];
  readonly backlog: any[] = [];
  private constructor(private sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (s: string) => {
      this.buf += s;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        let m: any;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        const w = this.waiters.findIndex((x) => x.match(m));
        if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(m);
        else {
          this.backlog.push(m);
          if (this.backlog.length > 10000) this.backlog.shift();
          this.onLine?.(m);
        }
      }
    });
  }
  onLine?: (m: any) => void;

  static connect(path: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  send(obj: unknown): void {
    this.sock.write(JSON.stringify(obj) + '\n');
  }

  next(match: (m: any) => boolean = () => true, timeoutMs = 10000): Promise<any> {
    const i = this.backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching line in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
