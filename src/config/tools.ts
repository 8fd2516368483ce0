import { InputError } from '../lib/errors.js';
import { parsePinnedSha256 } from '../tools/checksum.js';
import { gcloud } from '../tools/gcloud.js';
import { helm } from '../tools/helm.js';
import type { GcloudRequest, ToolRequests } from '../tools/index.js';
import { kubectl } from '../tools/kubectl.js';
import { parseVersionRequest } from '../tools/version.js';
import { parseEndpoint, safeArg, type Inputs } from './fields.js';

/** The tool inputs as written; `parseToolRequests` turns them into what the installer asks for. */
export interface ToolInputs {
  helm: string;
  kubectl: string;
  gcloud: string;
  gcloudSha256?: string;
  mirror?: string;
}

export function toolInputs(inputs: Inputs): ToolInputs {
  return {
    helm: inputs.get('helm-version'),
    kubectl: inputs.get('kubectl-version'),
    gcloud: inputs.get('gcloud-version'),
    gcloudSha256: inputs.get('gcloud-sha256'),
    mirror: inputs.get('tools-mirror'),
  };
}

/**
 * Each tool input parsed once into the request the installer uses. gcloud is installed when a `cluster` needs
 * its credentials or a gcloud-version was asked for, and skipped (saying why) for `none` or when nothing needs it.
 */
export function parseToolRequests(raw: ToolInputs, needGcloud: boolean): ToolRequests {
  const gcloudText = raw.gcloud.trim() === 'default' ? '' : raw.gcloud.trim();
  if (needGcloud && gcloudText === 'none') {
    throw new InputError(
      'gcloud-version',
      "is 'none' but 'cluster' is set",
      'gcloud fetches the cluster credentials: drop one of the two',
    );
  }
  const sha256 = raw.gcloudSha256?.trim() ? parsePinnedSha256('gcloud-sha256', raw.gcloudSha256) : undefined;
  let gcloudRequest: GcloudRequest;
  if (gcloudText === 'none') gcloudRequest = { skip: "gcloud-version is 'none'" };
  else if (!needGcloud && gcloudText === '') gcloudRequest = { skip: 'no cluster needs it' };
  else gcloudRequest = { request: request('gcloud-version', gcloudText, gcloud.defaultVersion), sha256 };
  return {
    helm: request('helm-version', raw.helm, helm.defaultVersion),
    kubectl: request('kubectl-version', raw.kubectl, kubectl.defaultVersion),
    gcloud: gcloudRequest,
    mirror: parseEndpoint('tools-mirror', raw.mirror?.trim() || undefined),
  };
}

function request(input: string, raw: string, pinned: string): ReturnType<typeof parseVersionRequest> {
  const text = raw.trim();
  if (text) safeArg(input, text);
  return parseVersionRequest(input, text, pinned);
}
