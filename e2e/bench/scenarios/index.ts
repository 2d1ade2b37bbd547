import type { Scenario } from '../lib/scenario.ts';
import { formation } from './formation.ts';
import { roundtrip, throughput } from './datachannel.ts';
import { ipc } from './ipc.ts';
import { peerjs } from './peerjs.ts';
import { registryLoad } from './registry-load.ts';
import { bundleScenario } from './bundle.ts';

/** In run order: latency-sensitive scenarios first, the registry load (which heats the machine) late. */
export const scenarios: Scenario[] = [ipc, roundtrip, throughput, peerjs, formation, registryLoad, bundleScenario];
