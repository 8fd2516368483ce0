import * as core from '@actions/core';
import type { Deadline } from '../lib/deadline.js';
import { ActionError, describeError } from '../lib/errors.js';
import { ensureAuthPlugin } from './auth-plugin.js';
import { gcloud } from './gcloud.js';
import { helm } from './helm.js';
import { installTool, type InstallContext, type InstalledTool } from './installer.js';
import { kubectl } from './kubectl.js';
import { currentPlatform, describePlatform, type Platform } from './platform.js';
import { siteFor, type ToolName, type ToolSpec } from './types.js';
import { describeRequest, type VersionRequest } from './version.js';

export type { InstalledTool } from './installer.js';
export type { Platform } from './platform.js';
export type { ToolName } from './types.js';

/** The pinned defaults, known to work with the SkyPilot chart: written once, in the tool modules. */
export const DEFAULT_VERSIONS: Readonly<Record<ToolName, string>> = {
  helm: helm.defaultVersion,
  kubectl: kubectl.defaultVersion,
  gcloud: gcloud.defaultVersion,
};

/** The `*-version` inputs, parsed: what to install, or why gcloud is skipped. */
export interface ToolRequests {
  helm: VersionRequest;
  kubectl: VersionRequest;
  gcloud: GcloudRequest;
  mirror: string | undefined;
}

export type GcloudRequest =
  | {
      request: VersionRequest;
      /** The `gcloud-sha256` input: Google publishes no checksum file, so this is how a download is verified. */
      sha256: string | undefined;
    }
  | { skip: string };

export interface InstallToolsOptions {
  deadline: Deadline;
  platform?: Platform;
  /** The PATH searched for tools the runner already has (default: process.env.PATH). */
  searchPath?: string;
  /** Publisher base URLs replaced, for the stand-in in tests and benchmarks. */
  bases?: Partial<Record<ToolName, string>>;
}

export interface InstalledTools {
  helm: InstalledTool;
  kubectl: InstalledTool;
  gcloud?: InstalledTool;
}

/**
 * Installs helm, kubectl and (when needed or asked for) gcloud with its GKE auth plugin, concurrently,
 * and puts each on PATH. gcloud is skipped for `none`, and when no cluster needs it and no version was asked.
 */
export async function installTools(
  requests: ToolRequests,
  options: InstallToolsOptions,
): Promise<InstalledTools> {
  return core.group('Install helm, kubectl and gcloud', async () => {
    const platform = options.platform ?? currentPlatform();
    const context = (spec: ToolSpec): InstallContext => ({
      deadline: options.deadline,
      platform,
      mirror: requests.mirror,
      searchPath: options.searchPath ?? process.env.PATH ?? '',
      ...(options.bases?.[spec.name] === undefined ? {} : { base: options.bases[spec.name] }),
    });
    core.info(
      `Platform ${describePlatform(platform)}${requests.mirror ? `, mirror ${requests.mirror}` : ''}`,
    );
    const gcloudWanted = 'request' in requests.gcloud ? requests.gcloud : undefined;
    const [helmTool, kubectlTool, gcloudTool] = await allInstalled([
      installTool(helm, requests.helm, context(helm)),
      installTool(kubectl, requests.kubectl, context(kubectl)),
      gcloudWanted ? installGcloud(gcloudWanted, context(gcloud)) : Promise.resolve(undefined),
    ]);
    const result: InstalledTools = {
      helm: helmTool!,
      kubectl: kubectlTool!,
      ...(gcloudTool ? { gcloud: gcloudTool } : {}),
    };
    for (const tool of Object.values(result) as InstalledTool[]) {
      if (tool.source !== 'path') core.addPath(tool.dir);
      core.info(`${tool.name} ${tool.version} (${tool.source}): ${tool.binary}`);
    }
    if ('skip' in requests.gcloud) core.info(`gcloud skipped (${requests.gcloud.skip})`);
    return result;
  });
}

/** Every install runs to its end; one failure is thrown as it is, several as one error naming each. */
async function allInstalled(
  installs: Promise<InstalledTool | undefined>[],
): Promise<(InstalledTool | undefined)[]> {
  const settled = await Promise.allSettled(installs);
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason as unknown);
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new ActionError(
      `Installing the tools failed ${failures.length} times: ${failures.map(describeError).join('; ')}`,
      { cause: failures[0] },
    );
  }
  return settled.map((s) => (s as PromiseFulfilledResult<InstalledTool | undefined>).value);
}

/** gcloud on PATH is good enough when no version was asked for, unless it cannot get the auth plugin. */
async function installGcloud(
  { request, sha256 }: { request: VersionRequest; sha256: string | undefined },
  ctx: InstallContext,
): Promise<InstalledTool> {
  const site = siteFor(gcloud, ctx.mirror, ctx.base);
  const acceptAnyOnPath = request.kind === 'exact' && request.pinned && sha256 === undefined;
  const tool = await installTool(gcloud, request, { ...ctx, acceptAnyOnPath, ...(sha256 ? { sha256 } : {}) });
  try {
    await ensureAuthPlugin(tool, site, gcloud.officialBase, ctx.searchPath, ctx.deadline);
    return tool;
  } catch (error) {
    if (tool.source !== 'path') throw error;
    // A distribution-packaged gcloud (apt) refuses `components install`: install our own copy instead.
    core.warning(
      `The gcloud on PATH cannot install gke-gcloud-auth-plugin (${describeError(error)}); installing gcloud ${describeRequest(request)} instead`,
    );
    const own = await installTool(gcloud, request, {
      ...ctx,
      acceptAnyOnPath: false,
      searchPath: '',
      ...(sha256 ? { sha256 } : {}),
    });
    await ensureAuthPlugin(own, site, gcloud.officialBase, ctx.searchPath, ctx.deadline);
    return own;
  }
}
