import type { Platform } from './platform.js';
import type { ResolutionPlan, Site, ToolSpec } from './types.js';
import type { VersionRequest } from './version.js';

/** Google's names for the Cloud SDK archive's architecture. */
function sdkArch(platform: Platform): 'x86_64' | 'arm' {
  return platform.arch === 'x64' ? 'x86_64' : 'arm';
}

/**
 * The Cloud SDK from the rapid channel: archives under `downloads/`, the channel's version in `components-2.json`.
 * Google publishes no checksum file beside the archive, so verification needs the pinned `gcloud-sha256`.
 * In a mirror both sit directly in `<mirror>/gcloud/`.
 */
export const gcloud: ToolSpec = {
  name: 'gcloud',
  defaultVersion: '548.0.0',
  officialBase: 'https://dl.google.com/dl/cloudsdk/channels/rapid',
  archive: 'tar.gz',
  downloadUrl: (version, platform, site) =>
    `${site.base}${site.mirrored ? '' : '/downloads'}/${gcloud.fileName(version, platform)}`,
  checksumUrl: () => undefined,
  fileName: (version, platform) => `google-cloud-cli-${version}-${platform.os}-${sdkArch(platform)}.tar.gz`,
  packageRoot: () => 'google-cloud-sdk',
  binary: 'bin/gcloud',
  binDir: 'bin',
  versionArgs: ['version', '--format=json'],
  parseVersion(stdout) {
    try {
      const sdk = (JSON.parse(stdout) as Record<string, unknown>)['Google Cloud SDK'];
      return typeof sdk === 'string' ? sdk : undefined;
    } catch {
      return undefined;
    }
  },
  resolution: gcloudResolution,
};

/** The component manager's snapshot: also what `gcloud components install` reads, so a mirror must carry it. */
export function componentsSnapshotUrl(site: Site): string {
  return `${site.base}/components-2.json`;
}

/** gcloud's major moves every week, so `latest` is simply the channel's version; X or X.Y probe the archives. */
function gcloudResolution(
  request: Exclude<VersionRequest, { kind: 'exact' }>,
  platform: Platform,
  site: Site,
): ResolutionPlan {
  if (request.kind === 'latest') {
    return {
      rule: "gcloud latest: the rapid channel's version in components-2.json",
      lookup: { url: componentsSnapshotUrl(site), format: 'json-version' },
    };
  }
  const minor = request.kind === 'minor' ? request.minor : 0;
  const start = `${request.major}.${minor}.0`;
  return {
    rule: `gcloud ${request.kind === 'minor' ? `${request.major}.${minor}` : request.major}: the newest release found by probing archives from ${start}`,
    line: request.kind === 'minor' ? { major: request.major, minor } : { major: request.major },
    probe: {
      start,
      bumpMinor: request.kind === 'major',
      method: 'HEAD',
      url: (version) => gcloud.downloadUrl(version, platform, site),
    },
  };
}
