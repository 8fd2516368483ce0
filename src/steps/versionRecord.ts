import { decodeLabelValue, encodeLabelValue } from '../lib/labels.js';

// The server version recorded with the state: the chart and chart version that last ran healthy on the disk, as
// two labels of the disk (they survive the cluster) and of the snapshots taken of it (GCE copies no label from a
// snapshot to a disk made from it: the action copies these two).

/** A chart and one of its versions, e.g. skypilot-nightly 1.0.0-dev.20261115. */
export interface ChartVersion {
  chart: string;
  version: string;
}

export const CHART_LABEL = 'skyha-chart';
export const CHART_VERSION_LABEL = 'skyha-chart-version';

/** The labels that record `v`; undefined when either part cannot be written in a label (63 characters at most). */
export function versionLabels(v: ChartVersion): Record<string, string> | undefined {
  const chart = encodeLabelValue(v.chart);
  const version = encodeLabelValue(v.version);
  return chart && version ? { [CHART_LABEL]: chart, [CHART_VERSION_LABEL]: version } : undefined;
}

/** The version these labels record; undefined when they record none (or not in our encoding). */
export function recordedVersion(labels: Record<string, string> | undefined): ChartVersion | undefined {
  const chart = labels?.[CHART_LABEL];
  const version = labels?.[CHART_VERSION_LABEL];
  const decoded = {
    chart: chart === undefined ? undefined : decodeLabelValue(chart),
    version: version === undefined ? undefined : decodeLabelValue(version),
  };
  return decoded.chart && decoded.version ? { chart: decoded.chart, version: decoded.version } : undefined;
}

/** Just the record among `labels` (to carry it from a snapshot to the disk made from it): {} when none. */
export function recordLabelsOf(labels: Record<string, string> | undefined): Record<string, string> {
  const recorded = recordedVersion(labels);
  return (recorded && versionLabels(recorded)) ?? {};
}

export function describeChartVersion(v: ChartVersion): string {
  return `${v.chart} ${v.version}`;
}
