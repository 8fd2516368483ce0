import { oneOf } from './fields.js';

/** deploy (the default), plan (observe and report, change nothing), or drill (restore a snapshot beside production). */
export type Mode = 'deploy' | 'plan' | 'drill';

export function parseMode(raw: string): Mode {
  return oneOf('mode', raw || 'deploy', ['deploy', 'plan', 'drill'] as const);
}
