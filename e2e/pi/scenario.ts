/**
 * The steps both emulated Pi tests take (arm64.test.ts, armv7.test.ts): the packed sidecar
 * installed for the Pi's CPU, a registry with x86-64 sidecars and a Chromium tab, then links,
 * messages and a 4 MiB message, delegate both ways, and kill -9 with a restart. Each entry file
 * starts its Pi its own way (a key, or a pairing code) and adds what only it checks.
 */
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, type WebStack } from '../web/helpers.ts';
import { waitFor, startSidecarProcess, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient, SkillHandler } from '../../mesh/agent/client.ts';
import type { MeshMessage } from '../../mesh/protocol/index.ts';
import type { DelegateResult } from '../../mesh/delegate.ts';
import { installPacked, progress, setUpEmulation } from './support.ts';

/** npm's --cpu and the ARM Node (setUpEmulation) of each Pi. */
const ARCH = { arm64: { cpu: 'arm64', node: 'arm64' }, armv7: { cpu: 'arm', node: 'armv7l' } } as const;

/** One call of the Pi's skill and its answer. */
export interface SkillCallCase {
  args: unknown;
  result: unknown;
}

export interface PiMeshOptions {
  arch: keyof typeof ARCH;
  /** How long an emulated step may take (a link, an answer). */
  slowMs: number;
  /** The x86-64 sidecars' peer ids: the first sends to the Pi, the last receives from it. */
  x86Peers: string[];
  /** The Pi's agent and its one skill: called through delegate, then directly after the restart. */
  agent: { name: string; skill: string; handler: SkillHandler; delegated: SkillCallCase; direct: SkillCallCase };
}

interface X86Peer {
  sidecar: SidecarProcess;
  agent: AgentClient;
  got: string[];
}

/** The payload of a `bulk` message (what these tests send), if it is one. */
function bulkData(m: MeshMessage): string | undefined {
  const p = m.payload;
  return m.type === 'bulk' && p instanceof Object && 'data' in p && typeof p.data === 'string' ? p.data : undefined;
}

function collectBulk(agent: AgentClient, into: string[]): void {
  agent.on('message', (m) => {
    const data = bulkData(m);
    if (data !== undefined) into.push(data);
  });
}

export class PiMesh {
  /** What reached the Pi's agent as `bulk` messages. */
  readonly atPi: string[] = [];
  #pi: SidecarProcess | undefined;
  #piAgent: AgentClient | undefined;

  private constructor(
    readonly o: PiMeshOptions,
    readonly stack: WebStack,
    /** The installed package and the ARM Node that runs it. */
    readonly pkg: { dir: string; bin: string },
    readonly armNode: string,
    readonly x86: X86Peer[],
    readonly tabPeer: string,
  ) {}

  /** Emulation, the package for the Pi's CPU, the registry, the x86-64 sidecars with an agent each, and a tab. */
  static async start(o: PiMeshOptions): Promise<PiMesh> {
    progress(`setting up emulation, packing and installing for ${ARCH[o.arch].cpu}`);
    const armNode = setUpEmulation()[ARCH[o.arch].node];
    const pkg = await installPacked(ARCH[o.arch].cpu);
    const stack = await startWebStack();
    const x86 = await Promise.all(
      o.x86Peers.map(async (id, i) => {
        const sidecar = await startSidecarProcess(stack.registry, id);
        const agent = await sidecar.agent({ name: `x86-${i + 1}` });
        const got: string[] = [];
        collectBulk(agent, got);
        return { sidecar, agent, got };
      }),
    );
    const tabPeer = (await openSignedIn(stack, stack.registry.adminKey)).peerId;
    return new PiMesh(o, stack, pkg, armNode, x86, tabPeer);
  }

  get pi(): SidecarProcess {
    assert.ok(this.#pi, 'the Pi has not started');
    return this.#pi;
  }
  get piAgent(): AgentClient {
    assert.ok(this.#piAgent, "the Pi's agent has not started");
    return this.#piAgent;
  }
  get #first(): X86Peer {
    return this.x86[0]!;
  }
  get #last(): X86Peer {
    return this.x86.at(-1)!;
  }

  /** Takes the Pi's sidecar, started by the entry file, and connects the Pi's agent to it. */
  async startPi(sidecar: SidecarProcess): Promise<void> {
    this.#pi = sidecar;
    const { name, skill, handler } = this.o.agent;
    this.#piAgent = await sidecar.agent({ name, registerTimeoutMs: this.o.slowMs, skills: { [skill]: handler } });
    collectBulk(this.#piAgent, this.atPi);
  }

  /** Open at both ends (a message sent while the far end still connects is not delivered): the Pi lists every x86-64 sidecar (and the tab), each lists the Pi. */
  async linked({ tab }: { tab: boolean }): Promise<void> {
    const peers = [...this.o.x86Peers, ...(tab ? [this.tabPeer] : [])];
    await waitFor(
      async () => {
        const seen = await this.piAgent.listPeers(30_000);
        return peers.every((p) => seen.includes(p));
      },
      `the Pi to link with ${peers.join(', ')}`,
      this.o.slowMs,
    );
    for (const x of this.x86)
      await waitFor(async () => (await x.agent.listPeers(30_000)).includes(this.pi.peerId), `${x.sidecar.peerId} to list the Pi`, this.o.slowMs);
  }

  /** A message to the Pi, a 4 MiB one from it (and, with `bigToPi`, one to it), each arriving intact. */
  async messages({ bigToPi }: { bigToPi: boolean }): Promise<void> {
    const slow = this.o.slowMs;
    this.#first.agent.send(this.pi.peerId, { type: 'bulk', payload: { data: 'hello pi' } });
    await waitFor(() => this.atPi.includes('hello pi'), 'a message at the Pi', slow);
    // Two-byte UTF-8 characters: a split that cuts one would show.
    const big = 'π0123456789abcdef'.repeat((4 * 1024 * 1024) / 17);
    progress('4 MiB from the Pi');
    this.piAgent.send(this.#last.sidecar.peerId, { type: 'bulk', payload: { data: big } });
    await waitFor(() => this.#last.got.some((d) => d === big), 'the 4 MiB message from the Pi, intact', slow);
    if (!bigToPi) return;
    progress('4 MiB to the Pi');
    this.#first.agent.send(this.pi.peerId, { type: 'bulk', payload: { data: big } });
    await waitFor(() => this.atPi.some((d) => d === big), 'the 4 MiB message at the Pi, intact', slow);
  }

  /** An x86-64 agent runs the Pi's skill through delegate, and the Pi runs the tab's built-in `upper`: both over the direct tier. */
  async delegateBothWays(text: string): Promise<void> {
    progress('delegate to and from the Pi');
    const { skill, delegated } = this.o.agent;
    const toPi = (await this.#first.agent.task('delegate', { skill, args: delegated.args }, { timeoutMs: this.o.slowMs })) as DelegateResult;
    assert.deepEqual([toPi.tier, toPi.peer_id, toPi.result], ['direct', this.pi.peerId, delegated.result]);
    const fromPi = (await this.piAgent.task(
      'delegate',
      { skill: 'upper', args: { text }, target_peer: this.tabPeer },
      { timeoutMs: this.o.slowMs },
    )) as DelegateResult;
    assert.deepEqual([fromPi.tier, fromPi.result], ['direct', text.toUpperCase()]);
  }

  /** kill -9 of the Pi: the x86-64 side sees it leave; restarted, it links again (with the tab too if `tab`) and its skill answers. */
  async killAndRestart({ tab }: { tab: boolean }): Promise<void> {
    progress('kill -9 and restart');
    const old = this.pi;
    await old.kill();
    await waitFor(async () => !(await this.#first.agent.listPeers()).includes(old.peerId), `${this.#first.sidecar.peerId} to drop the Pi`, 60_000);
    await this.startPi(await old.restart());
    await this.linked({ tab });
    const { name, skill, direct } = this.o.agent;
    assert.deepEqual(await this.#last.agent.task(skill, direct.args, { peer: old.peerId, agent: name, timeoutMs: this.o.slowMs }), direct.result);
  }

  async close(): Promise<void> {
    for (const a of [this.#piAgent, ...this.x86.map((x) => x.agent)]) a?.close();
    await Promise.all([this.#pi, ...this.x86.map((x) => x.sidecar)].map((s) => s?.stop()));
    await this.stack.close();
  }
}
