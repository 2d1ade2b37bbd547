/** The wire contracts in one place: server, sidecar and web import them from here. */
export * from './limits.ts';
export * from './decode.ts';
export * from './common.ts';
export * from './signaling.ts';
export * from './message.ts';
export * from './ipc.ts';
export * from './skills.ts';
export * from './rest.ts';
export * from './routes.ts';
export * from './identity.ts';
export * from './revocation.ts';
