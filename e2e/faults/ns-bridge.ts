// Makes a loopback TCP service of the root namespace (e.g. the registry started by
// server/testing.ts) reachable inside a lab namespace at `host:port`, without opening anything
// outside loopback: a listener runs in the namespace and passes each accepted socket to this
// process over IPC, which connects it to 127.0.0.1:targetPort. When the target is down (registry
// stopped), connections are accepted and closed at once, like a refused connect.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const LISTENER = fileURLToPath(new URL('./ns-listener.mjs', import.meta.url));

export interface NsBridge {
  /** closes the listener and every bridged connection */
  close(): Promise<void>;
  /** connections bridged so far */
  readonly connections: number;
}

export async function bridgeIntoNamespace(ns: string, host: string, port: number, targetPort: number): Promise<NsBridge> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, LISTENER, host, String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const open = new Set<net.Socket>();
  let connections = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ns bridge ${ns} ${host}:${port} did not start`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ns bridge exited (${code})`));
    });
    child.on('message', (m: { type?: string }, handle) => {
      if (m?.type === 'listening') {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (m?.type !== 'conn' || !(handle instanceof net.Socket)) return;
      connections++;
      const inner = handle;
      const outer = net.connect(targetPort, '127.0.0.1');
      open.add(inner);
      open.add(outer);
      const done = () => {
        inner.destroy();
        outer.destroy();
        open.delete(inner);
        open.delete(outer);
      };
      inner.on('error', done);
      outer.on('error', done);
      inner.on('close', done);
      outer.on('close', done);
      inner.pipe(outer);
      outer.pipe(inner);
      inner.resume();
    });
  });
  child.removeAllListeners('exit');
  return {
    get connections() {
      return connections;
    },
    async close() {
      for (const s of open) s.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
