#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: one toolchain for dev, tests and production.
import { register } from 'tsx/esm/api';
register();
await import('../server/main.ts');
