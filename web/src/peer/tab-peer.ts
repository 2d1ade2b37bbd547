import type { Action } from '../state/actions.ts';

export interface TabPeer {
  peerId: string;
  role: string;
  do(a: Action): Promise<void>;
  stop(): Promise<void>;
}
export function isAuthError(e: unknown): boolean {
  const s = (e as { status?: number }).status;
  return s === 401 || s === 403;
}
export async function connectTabPeer(_credential: string, _peerId: string): Promise<TabPeer> {
  throw new Error('not implemented yet');
}
