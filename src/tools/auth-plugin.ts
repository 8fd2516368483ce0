import * as fs from 'node:fs';
import * as path from 'node:path';
import * as core from '@actions/core';
import { runCommand } from '../clients/command.js';
import type { Budget } from '../lib/deadline.js';
import { componentsSnapshotUrl } from './gcloud.js';
import { findExecutable, type InstalledTool } from './installer.js';
import type { Site } from './types.js';

/**
 * kubectl refreshes GKE credentials through gke-gcloud-auth-plugin, so runs longer than an hour keep working.
 * Installed with gcloud's component manager unless it is already there.
 */
export async function ensureAuthPlugin(
  gcloudTool: InstalledTool,
  site: Site,
  officialBase: string,
  searchPath: string,
  budget?: Budget,
): Promise<string> {
  const besideGcloud = path.join(path.dirname(gcloudTool.binary), 'gke-gcloud-auth-plugin');
  const existing = fs.existsSync(besideGcloud)
    ? besideGcloud
    : gcloudTool.source === 'path'
      ? findExecutable('gke-gcloud-auth-plugin', searchPath)
      : undefined;
  if (existing !== undefined) {
    core.info(`[gcloud] gke-gcloud-auth-plugin is present at ${existing}`);
    return existing;
  }
  const env: Record<string, string> = { CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  // Without this, a mirrored (air-gapped) install would ask dl.google.com for the component.
  if (site.base !== officialBase) env.CLOUDSDK_COMPONENT_MANAGER_SNAPSHOT_URL = componentsSnapshotUrl(site);
  await runCommand(gcloudTool.binary, ['components', 'install', 'gke-gcloud-auth-plugin', '--quiet'], {
    env,
    ...(budget ? { budget } : {}),
  });
  core.info(`[gcloud] installed gke-gcloud-auth-plugin at ${besideGcloud}`);
  return besideGcloud;
}
