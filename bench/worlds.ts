/**
 * The two clouds the bench measures in, both behind the same round trips (BASELINE_RTT): **today's** stand-ins
 * (the mimic chart with its admission hook Jobs, controllers that act at once, a load balancer address at once)
 * and a **fast** cloud (a chart without hook Jobs, controllers that act 0.3 s after a write, a load balancer
 * address 0.5 s after the Service is written). A slow chart hides the action's own waits behind
 * its Jobs; the fast cloud shows them.
 */
import {
  startLocalWorld,
  type LatencyOptions,
  type LocalWorld,
  type WorldOptions,
} from '../standins/world.js';

export type WorldName = 'today' | 'fast';

export const WORLD_NAMES: readonly WorldName[] = ['today', 'fast'];

export const WORLD_OPTIONS: Record<WorldName, Omit<WorldOptions, 'latencyMs'>> = {
  today: {},
  fast: {
    kube: { controllerDelayMs: 300, loadBalancerDelayMs: 500 },
    charts: { hookJobs: false },
  },
};

/** One line for the report: what the world is. */
export const WORLD_TEXT: Record<WorldName, string> = {
  today:
    "today's stand-ins: the mimic chart's admission hook Jobs (about 160 requests of helm's one after another on both sides), controllers and the load balancer's address at once",
  fast: 'a fast cloud: a chart without hook Jobs, controllers that act 0.3 s after a write, the load balancer address 0.5 s after its Service is written',
};

export function startBenchWorld(name: WorldName, latencyMs: Required<LatencyOptions>): Promise<LocalWorld> {
  return startLocalWorld({ ...WORLD_OPTIONS[name], latencyMs });
}
