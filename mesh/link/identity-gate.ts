import type { DescribedConnection } from '../identity/link-auth.ts';
import { decodeIdentityFrame, type IdentityFrame } from '../protocol/index.ts';

/**
 * Identity check of a new link (mesh/identity's LinkAuthenticator fits): each side sends
 * `proofFrame` as its first text frame; the other side `check`s it before anything else is
 * delivered. A refused link is closed after sending `refusal`, and not redialed.
 */
export interface LinkAuth {
  proofFrame(remotePeerId: string, conn: DescribedConnection): Promise<string>;
  check(remotePeerId: string, conn: DescribedConnection, text: string): Promise<{ ok: true } | { ok: false; reason: string; message: string }>;
  refusal(check: { reason: string; message: string }): string;
  /** Local policy: false = this peer opens without a proof (a legacy peer the operator listed). Default: required. */
  required?(remotePeerId: string): boolean;
}

/** How long a new link waits for the remote's identity proof and acceptance. */
export const PROOF_TIMEOUT_MS = 10_000;

/** What the gate needs from its link and connection. */
export interface GateHost {
  readonly closed: boolean;
  /** Sends a text frame if the channel is open; a dead channel is the failure path's business. */
  send(text: string): void;
  /** A timer that dies with the connection. */
  timer(ms: number, fn: () => void): void;
  /** Both proofs passed: open the link, then take the frames held meanwhile, in order. */
  pass(held: unknown[]): void;
  /** A proof failed (the remote's, or ours at the remote): report it and close, never redial. */
  refused(reason: string, message: string): void;
}

/**
 * The identity gate of one new DataChannel (docs/protocol.md, identity frames): nothing is
 * delivered until the remote's proof passed our check (we answer `identity_accepted`) AND the
 * remote accepted ours. The remote's first text frame is its proof; `identity_refused` says it
 * refused ours. Frames that arrive meanwhile are held and handed over in order.
 */
export class IdentityGate {
  readonly #auth: LinkAuth;
  readonly #remoteId: string;
  readonly #conn: DescribedConnection;
  readonly #host: GateHost;
  #held: unknown[] = [];
  #checking = false;
  #verified = false;
  #accepted = false;
  #passed = false;

  constructor(auth: LinkAuth, remoteId: string, conn: DescribedConnection, host: GateHost) {
    this.#auth = auth;
    this.#remoteId = remoteId;
    this.#conn = conn;
    this.#host = host;
  }

  /** The channel opened: send our proof. A peer that never proves is refused and reported, not left hanging. */
  start(): void {
    this.#host.timer(PROOF_TIMEOUT_MS, () => {
      if (!this.#passed)
        this.#refuse('no_proof', `no identity proof within ${PROOF_TIMEOUT_MS / 1000} s (a peer without identity must be listed as legacy)`, true);
    });
    this.#auth.proofFrame(this.#remoteId, this.#conn).then(
      (frame) => {
        if (!this.#host.closed) this.#host.send(frame);
      },
      (err: unknown) => this.#refuse('no_proof', `cannot prove our identity: ${errText(err)}`, true),
    );
  }

  /** A frame arrived before the gate passed. */
  frame(data: unknown): void {
    if (typeof data !== 'string') return void this.#held.push(data);
    const f = decodeIdentityFrame(data);
    if (f.ok && f.value.type === 'identity_refused') {
      return this.#refuse(f.value.reason, `the remote refused our identity: ${f.value.message}`, false);
    }
    if (f.ok && f.value.type === 'identity_accepted') {
      this.#accepted = true;
      return this.#maybePass();
    }
    if (this.#checking || this.#verified) return void this.#held.push(data);
    void this.#check(data);
  }

  async #check(text: string): Promise<void> {
    this.#checking = true;
    let res: Awaited<ReturnType<LinkAuth['check']>>;
    try {
      res = await this.#auth.check(this.#remoteId, this.#conn, text);
    } catch (err) {
      res = { ok: false, reason: 'check_failed', message: errText(err) };
    }
    if (this.#host.closed) return;
    this.#checking = false;
    if (!res.ok) return this.#refuse(res.reason, res.message, true);
    this.#verified = true;
    this.#host.send(JSON.stringify({ type: 'identity_accepted' } satisfies IdentityFrame));
    this.#maybePass();
  }

  #maybePass(): void {
    if (!this.#verified || !this.#accepted || this.#passed || this.#host.closed) return;
    this.#passed = true;
    const held = this.#held;
    this.#held = [];
    this.#host.pass(held);
  }

  #refuse(reason: string, message: string, tellRemote: boolean): void {
    if (this.#host.closed) return;
    if (tellRemote) this.#host.send(this.#auth.refusal({ reason, message }));
    this.#host.refused(reason, message);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
