import * as core from '@actions/core';
import type { KubeObject, Kubectl } from '../clients/kubectl.js';
import { budgetOf, type Deadline } from '../lib/deadline.js';
import { describeError } from '../lib/errors.js';

/** Diagnostics explain a failure; they never get more than this, and never pass the run's end. */
export const DIAGNOSTICS_MS = 20_000;

/**
 * What a user needs when the rollout fails: pods, recent events and the server's last log lines, within a
 * budget of their own (the run's time is usually what ran out). Logs are read only from pods that exist, since
 * `kubectl logs deploy/...` waits for a pod that a Deployment without pods never gets.
 */
export async function printDiagnostics(
  kubectl: Kubectl,
  release: string,
  namespace: string,
  deadline: Deadline | undefined,
): Promise<void> {
  const bounded = kubectl.withBudget(deadline ? deadline.grace(DIAGNOSTICS_MS) : budgetOf(DIAGNOSTICS_MS));
  core.startGroup(`Diagnostics for ${release} in ${namespace}`);
  try {
    const show = async (title: string, args: string[], lastLines = 40): Promise<void> => {
      const result = await bounded.run(args, { allowFailure: true });
      const lines = (result.stdout || result.stderr).trimEnd().split('\n');
      // Keep the header row and the newest lines: a busy namespace has hundreds of events.
      const shown = lines.length > lastLines + 1 ? [lines[0], '...', ...lines.slice(-lastLines)] : lines;
      core.info(`--- ${title}\n${shown.join('\n') || '(nothing)'}`);
    };
    await show('pods', ['get', 'pods', '-n', namespace, '-o', 'wide']);
    await show('services', ['get', 'services', '-n', namespace]);
    await show('claims', ['get', 'persistentvolumeclaims', '-n', namespace]);
    await show('recent events', ['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp'], 20);
    core.info(
      `--- last log lines of deploy/${release}-api-server\n${await serverLogs(bounded, release, namespace)}`,
    );
  } catch (error) {
    core.info(`(could not collect diagnostics: ${describeError(error)})`);
  } finally {
    core.endGroup();
  }
}

/** The newest server pod's last lines, or why there are none. */
async function serverLogs(kubectl: Kubectl, release: string, namespace: string): Promise<string> {
  const pods = await kubectl.list<KubeObject>('pods', namespace, `app=${release}-api`);
  const newest = pods
    .filter((p) => p.metadata?.name)
    .sort((a, b) =>
      (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''),
    )[0];
  if (!newest?.metadata?.name) return `(no pod of deploy/${release}-api-server exists, so no logs)`;
  return (await kubectl.logs(`pod/${newest.metadata.name}`, namespace, 50)).trimEnd() || '(empty log)';
}
