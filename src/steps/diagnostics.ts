import * as core from '@actions/core';
import type { Kubectl } from '../clients/kubectl.js';

/** What a user needs when the rollout fails: pods, recent events and the server's last log lines. */
export async function printDiagnostics(kubectl: Kubectl, release: string, namespace: string): Promise<void> {
  core.startGroup(`Diagnostics for ${release} in ${namespace}`);
  try {
    const show = async (title: string, args: string[], lastLines = 40): Promise<void> => {
      const result = await kubectl.run(args, { allowFailure: true });
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
      `--- last log lines of deploy/${release}-api-server\n${(await kubectl.logs(`deploy/${release}-api-server`, namespace, 50)).trimEnd()}`,
    );
  } catch (error) {
    core.info(`(could not collect diagnostics: ${error instanceof Error ? error.message : String(error)})`);
  } finally {
    core.endGroup();
  }
}
