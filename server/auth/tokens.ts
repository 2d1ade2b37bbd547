import { SignJWT, jwtVerify } from 'jose';
import type { Role } from '../../mesh/protocol/index.ts';

const ISSUER = 'chatixia-registry';

export interface Principal {
  peerId: string;
  role: Role;
  /** Epoch s when the credential expires (JWTs): live sessions opened with it end then unless renewed. */
  exp?: number;
}

/** HS256 JWTs: `sub` = peer id, `role`. Verification pins the algorithm, so `alg: none` and RS/HS confusion fail. */
export class TokenSigner {
  readonly #key: Uint8Array;
  constructor(
    key: Uint8Array,
    readonly ttlS: number,
  ) {
    this.#key = key;
  }

  async sign(p: Principal): Promise<string> {
    return new SignJWT({ role: p.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.peerId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .sign(this.#key);
  }

  /** The principal of a valid token, or undefined (bad signature, expired, wrong alg, malformed). */
  async verify(token: string): Promise<(Principal & { exp: number; iat: number }) | undefined> {
    if (token.length > 8192) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: ISSUER });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || (role !== 'agent' && role !== 'admin') || typeof payload.exp !== 'number') return undefined;
      return { peerId: payload.sub, role, exp: payload.exp, iat: typeof payload.iat === 'number' ? payload.iat : 0 };
    } catch {
      return undefined;
    }
  }
}
