import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubernetesClient } from '../../src/clients/kubernetes.js';
import { Deadline } from '../../src/lib/deadline.js';

/** A private HOME and helm folders for one test: kubectl caches discovery there, helm its repositories. */
export function toolEnv(dir: string): Record<string, string> {
  return {
    HOME: dir,
    HELM_CACHE_HOME: path.join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: path.join(dir, 'helm-config'),
    HELM_DATA_HOME: path.join(dir, 'helm-data'),
    RUNNER_TEMP: dir,
  };
}

/** A script named `name` in `dir` that appends its argv (prefixed by `prefix`) to `log`, then runs the real binary. */
export function argvRecorder(real: string, name: string, dir: string, log: string, prefix = ''): string {
  const binary = path.join(dir, name);
  const line = prefix ? `${prefix} $*` : '$*';
  fs.writeFileSync(binary, `#!/bin/sh\nprintf '%s\\n' "${line}" >> '${log}'\nexec '${real}' "$@"\n`, {
    mode: 0o755,
  });
  return binary;
}

/** The action's in-process Kubernetes client on a stand-in's kubeconfig, with a budget long enough for any test. */
export function kubeClientOf(kubeconfig: string, budgetMs = 120_000): KubernetesClient {
  return KubernetesClient.fromKubeconfig({ path: kubeconfig }, { budget: new Deadline(budgetMs) });
}
