import { InputError } from '../lib/errors.js';
import { DNS_LABEL, matches, oneOf, parseEndpoint, safeArg, type Inputs } from './fields.js';
import { parseValuesFiles, parseValuesInput, type ChartValues } from './values.js';

export type ServiceType = 'LoadBalancer' | 'NodePort';

/** The runbook's `helm upgrade --install`: which chart, where, with which extra values. */
export interface ReleaseConfig {
  name: string;
  namespace: string;
  chart: string;
  /**
   * A version or constraint, or `latest` (a reserved word: the newest). Undefined: the version the release runs, else
   * the one recorded with the state, else the newest (see chartVersionToInstall).
   */
  chartVersion: string | undefined;
  repoUrl: string;
  /** The user's `values` text, parsed; applied after ours. */
  values: ChartValues;
  /** The `values-files` paths, as helm is given them. */
  valuesFiles: string[];
  /** Their content, parsed once: what helm will read from them, to compare with the deployed values. */
  fileValues: ChartValues[];
  serviceType: ServiceType;
}

export const RELEASE_DEFAULTS = {
  releaseName: 'skypilot',
  namespace: 'skypilot',
  chart: 'skypilot/skypilot-nightly',
  helmRepoUrl: 'https://helm.skypilot.co',
  serviceType: 'LoadBalancer',
} as const;

export function parseReleaseConfig(inputs: Inputs, env: NodeJS.ProcessEnv = process.env): ReleaseConfig {
  const chart = safeArg('chart', inputs.get('chart') || RELEASE_DEFAULTS.chart);
  if (/\s/.test(chart))
    throw new InputError('chart', `'${chart}' contains white space`, 'Use REPO/NAME or oci://HOST/PATH');
  const files = parseValuesFiles(inputs.raw('values-files'), env);
  return {
    name: parseReleaseName(inputs.get('release-name') || RELEASE_DEFAULTS.releaseName),
    namespace: parseNamespace(inputs.get('namespace') || RELEASE_DEFAULTS.namespace),
    chart,
    chartVersion: parseChartVersion(inputs.opt('chart-version')),
    repoUrl: parseEndpoint('helm-repo-url', inputs.get('helm-repo-url') || RELEASE_DEFAULTS.helmRepoUrl)!,
    values: parseValuesInput(inputs.raw('values')),
    valuesFiles: files.files,
    fileValues: files.values,
    serviceType: oneOf('service-type', inputs.get('service-type') || RELEASE_DEFAULTS.serviceType, [
      'LoadBalancer',
      'NodePort',
    ] as const),
  };
}

function parseReleaseName(name: string): string {
  matches(
    'release-name',
    name,
    DNS_LABEL,
    'lowercase letters, digits and hyphens, starting and ending alphanumeric',
  );
  if (name.length > 53) {
    throw new InputError('release-name', `'${name}' is ${name.length} characters`, 'Helm allows at most 53');
  }
  return name;
}

function parseNamespace(namespace: string): string {
  matches('namespace', namespace, DNS_LABEL, 'a DNS-1123 label: lowercase letters, digits and hyphens');
  if (namespace.length > 63)
    throw new InputError('namespace', `'${namespace}' is longer than 63 characters`, 'Shorten it');
  return namespace;
}

function parseChartVersion(version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  return matches(
    'chart-version',
    version,
    /^[\w.+<>=~^*| -]+$/,
    'a chart version or semver range such as 1.0.0-dev.20250218, or latest',
  );
}
