import * as core from '@actions/core';
import type { Deadline } from '../deadline.js';
import { ActionError, describeError } from '../errors.js';
import type { ToolVersions } from '../inputs.js';
import { ensureAuthPlugin } from './auth-plugin.js';
import { parsePinnedSha256 } from './checksum.js';
import { gcloud } from './gcloud.js';
import { helm } from './helm.js';
import { installTool, type InstallContext, type InstalledTool } from './installer.js';
import { kubectl } from './kubectl.js';
import { currentPlatform, describePlatform, type Platform } from './platform.js';
import { siteFor, type ToolName, type ToolSpec } from './types.js';
import { parseVersionRequest } from './version.js';

export type { InstalledTool } from './installer.js';
export type { Platform } from './platform.js';
export type { ToolName } from './types.js';

/** The pinned defaults, known to work with the SkyPilot chart: written once, in the tool modules. */
export const DEFAULT_VERSIONS: Readonly<Record<ToolName, string>> = {
  helm: helm.defaultVersion,
  kubectl: kubectl.defaultVersion,
  gcloud: gcloud.defaultVersion,
};

export interface InstallToolsOptions {
  deadline: Deadline;
  platform?: Platform;
  /** The `gcloud-sha256` input: Google publishes no checksum file, so this is how a gcloud download is verified. */
  gcloudSha256?: string;
  /** True when a `cluster` is given: its credentials come from gcloud. */
  needGcloud: boolean;
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
  versions: ToolVersions,
  options: InstallToolsOptions,
): Promise<InstalledTools> {
  return core.group('Install helm, kubectl and gcloud', async () => {
    const platform = options.platform ?? currentPlatform();
    const searchPath = options.searchPath ?? process.env.PATH ?? '';
    const sha256 = options.gcloudSha256?.trim()
      ? parsePinnedSha256('gcloud-sha256', options.gcloudSha256)
      : undefined;
    const context = (spec: ToolSpec): InstallContext => ({
      deadline: options.deadline,
      platform,
      mirror: versions.mirror,
      searchPath,
      ...(options.bases?.[spec.name] === undefined ? {} : { base: options.bases[spec.name] }),
    });
    const wantGcloud = versions.gcloud !== 'none' && (options.needGcloud || versions.gcloud !== 'default');
    core.info(
      `Platform ${describePlatform(platform)}${versions.mirror ? `, mirror ${versions.mirror}` : ''}`,
    );

    const settled = await Promise.allSettled([
      installTool(
        helm,
        parseVersionRequest('helm-version', versions.helm, helm.defaultVersion),
        context(helm),
      ),
      installTool(
        kubectl,
        parseVersionRequest('kubectl-version', versions.kubectl, kubectl.defaultVersion),
        context(kubectl),
      ),
      wantGcloud ? installGcloud(versions.gcloud, sha256, context(gcloud)) : Promise.resolve(undefined),
    ]);
    const failures = settled
      .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
      .map((s) => s.reason as unknown);
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new ActionError(
        `Installing the tools failed ${failures.length} times: ${failures.map(describeError).join('; ')}`,
        {
          cause: failures[0],
        },
      );
    }
    const [helmTool, kubectlTool, gcloudTool] = settled.map(
      (s) => (s as PromiseFulfilledResult<InstalledTool | undefined>).value,
    );
    const result: InstalledTools = {
      helm: helmTool!,
      kubectl: kubectlTool!,
      ...(gcloudTool ? { gcloud: gcloudTool } : {}),
    };
    for (const tool of Object.values(result) as InstalledTool[]) {
      if (tool.source !== 'path') core.addPath(tool.dir);
      core.info(`${tool.name} ${tool.version} (${tool.source}): ${tool.binary}`);
    }
    if (!wantGcloud)
      core.info(
        `gcloud skipped (${versions.gcloud === 'none' ? "gcloud-version is 'none'" : 'no cluster needs it'})`,
      );
    return result;
  });
}

/** gcloud on PATH is good enough when no version was asked for, unless it cannot get the auth plugin. */
async function installGcloud(
  raw: string,
  sha256: string | undefined,
  ctx: InstallContext,
): Promise<InstalledTool> {
  const request = parseVersionRequest('gcloud-version', raw, gcloud.defaultVersion);
  const site = siteFor(gcloud, ctx.mirror, ctx.base);
  const acceptAnyOnPath = request.kind === 'exact' && request.pinned && sha256 === undefined;
  const tool = await installTool(gcloud, request, { ...ctx, acceptAnyOnPath, ...(sha256 ? { sha256 } : {}) });
  try {
    await ensureAuthPlugin(tool, site, gcloud.officialBase, ctx.searchPath);
    return tool;
  } catch (error) {
    if (tool.source !== 'path') throw error;
    // A distribution-packaged gcloud (apt) refuses `components install`: install our own copy instead.
    core.warning(
      `The gcloud on PATH cannot install gke-gcloud-auth-plugin (${describeError(error)}); installing gcloud ${request.kind === 'exact' ? request.version : raw} instead`,
    );
    const own = await installTool(gcloud, request, {
      ...ctx,
      acceptAnyOnPath: false,
      searchPath: '',
      ...(sha256 ? { sha256 } : {}),
    });
    await ensureAuthPlugin(own, site, gcloud.officialBase, ctx.searchPath);
    return own;
  }
}
