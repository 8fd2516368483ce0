// One deploy in the demo's world, then the health check a user would make; prints one JSON line last.
// __tests__/standins/unprivileged.test.ts runs it as an unprivileged user (as root it drops to uid 65534).
import { startLocalWorld, WORLD } from '../../standins/world.js';

export interface DeployOnce {
  mode: string;
  code: number | null;
  errors: string[];
  url: string;
  urlPattern: string;
  version: string | undefined;
  /** The health endpoint's status without credentials, and with the web password. */
  anonymous: number;
  authorized: { status: number; body: unknown };
}

const world = await startLocalWorld();
try {
  const run = await world.run();
  const url = run.outputs['server-url'] ?? '';
  const health = (headers: Record<string, string>) => fetch(`${url}/api/health`, { headers });
  const anonymous = url ? (await health({})).status : 0;
  const answer = url
    ? await health({
        Authorization: `Basic ${Buffer.from(`skypilot:${WORLD.password}`).toString('base64')}`,
      })
    : undefined;
  const result: DeployOnce = {
    mode: world.network.mode,
    code: run.code,
    errors: run.errors,
    url,
    urlPattern: world.network.serverUrlPattern().source,
    version: run.outputs['server-version'],
    anonymous,
    authorized: { status: answer?.status ?? 0, body: answer ? await answer.json() : undefined },
  };
  console.log(JSON.stringify(result));
} finally {
  await world.close();
}
