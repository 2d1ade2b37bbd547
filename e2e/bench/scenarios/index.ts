import type { Scenario } from '../lib/scenario.ts';
import { formation } from './formation.ts';

/** In run order: cheap and noisy-sensitive first, the registry load (which heats the machine) late. */
export const scenarios: Scenario[] = [formation];
