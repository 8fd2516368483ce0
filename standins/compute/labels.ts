import { createHash } from 'node:crypto';
import { ApiError, invalid } from './errors.js';

// Labels and their fingerprint, as every labelled Compute resource (disks, snapshots, addresses) has them.

/** GCE's labelFingerprint of a resource without labels; it is the same on every resource. */
const NO_LABELS = '42WmSpB8rSM=';

/**
 * The fingerprint of a set of labels: 8 bytes of a hash, base64, as GCE's look. Derived from the labels (so equal
 * labels give equal fingerprints, as on GCE), it changes whenever a setLabels changes them.
 */
export function labelFingerprint(labels?: Record<string, string>): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!entries.length) return NO_LABELS;
  return createHash('sha256').update(JSON.stringify(entries)).digest().subarray(0, 8).toString('base64');
}

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
/** "Each resource can have up to 64 labels" (Labeling resources). */
const MAX_LABELS = 64;

/** The real API refuses labels that break these rules with 400 invalid. */
export function invalidLabel(
  labels: Record<string, string> | undefined,
  field = 'resource.labels',
): string | undefined {
  const entries = Object.entries(labels ?? {});
  if (entries.length > MAX_LABELS)
    return `Invalid value for field '${field}': ${entries.length} labels; a resource can have at most ${MAX_LABELS}`;
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) return `Invalid value for field '${field}': label key '${key}'`;
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      return `Invalid value for field '${field}': label value '${String(value)}' of key '${key}'`;
    }
  }
  return undefined;
}

/** GCE's answer to a setLabels whose fingerprint is not the resource's (the body real clients get back). */
export const conditionNotMet = (): ApiError =>
  new ApiError(412, 'conditionNotMet', 'Labels fingerprint either invalid or resource labels have changed', {
    location: 'If-Match',
    locationType: 'header',
  });

export interface Labelled {
  labels?: Record<string, string>;
  labelFingerprint: string;
}

/**
 * The labels a setLabels body ({labels, labelFingerprint}) sets on `resource`, checked as GCE checks them: a
 * fingerprint that is not the resource's is 412 conditionNotMet (read again, then retry); a missing one is accepted
 * only while the resource has no labels; invalid labels are 400. Nothing is changed here.
 */
export function labelsToSet(resource: Labelled, body: Record<string, unknown>): Record<string, string> {
  const given = body.labels ?? {};
  if (typeof given !== 'object' || Array.isArray(given) || given === null)
    throw invalid(`Invalid value for field 'labels': '${JSON.stringify(given)}'. Must be a map.`);
  const labels = given as Record<string, string>;
  const problem = invalidLabel(labels, 'labels');
  if (problem) throw invalid(problem);
  const sent = body.labelFingerprint;
  const hasLabels = Object.keys(resource.labels ?? {}).length > 0;
  if (sent === undefined || sent === '') {
    if (hasLabels) throw conditionNotMet();
  } else if (sent !== resource.labelFingerprint) {
    throw conditionNotMet();
  }
  return { ...labels };
}

/** Sets the labels (GCE omits an empty map) and their new fingerprint. */
export function applyLabels(resource: Labelled, labels: Record<string, string>): void {
  if (Object.keys(labels).length) resource.labels = { ...labels };
  else delete resource.labels;
  resource.labelFingerprint = labelFingerprint(labels);
}
