import { goArch, type Platform } from './platform.js';
import type { ResolutionPlan, Site, ToolSpec } from './types.js';
import { cleanVersion, majorOf, type VersionRequest } from './version.js';

const DEFAULT_HELM = '3.19.0';

/** Helm's layout on get.helm.sh: `helm-vX-<os>-<arch>.tar.gz` holding `<os>-<arch>/helm`, a `.sha256sum` beside it. */
export const helm: ToolSpec = {
  name: 'helm',
  defaultVersion: DEFAULT_HELM,
  officialBase: 'https://get.helm.sh',
  archive: 'tar.gz',
  downloadUrl: (version, platform, site) => `${site.base}/${helm.fileName(version, platform)}`,
  checksumUrl: (version, platform, site) => `${helm.downloadUrl(version, platform, site)}.sha256sum`,
  fileName: (version, platform) => `helm-v${version}-${platform.os}-${goArch(platform)}.tar.gz`,
  packageRoot: (platform) => `${platform.os}-${goArch(platform)}`,
  binary: 'helm',
  binDir: '',
  versionArgs: ['version', '--short'],
  parseVersion: (stdout) => cleanVersion(stdout),
  resolution: helmResolution,
};

/**
 * helm-latest-version names the newest release of ANY major (v4 while we pin 3), so `latest` stays on the
 * pinned default's major and finds its newest patch by probing checksum files; a major or major.minor asked
 * for by name crosses on purpose.
 */
function helmResolution(
  request: Exclude<VersionRequest, { kind: 'exact' }>,
  platform: Platform,
  site: Site,
): ResolutionPlan {
  const probeUrl = (version: string): string => helm.checksumUrl(version, platform, site)!;
  const defaultMajor = majorOf(DEFAULT_HELM);
  if (request.kind === 'minor') {
    const start = `${request.major}.${request.minor}.0`;
    return {
      rule: `helm ${request.major}.${request.minor}: the newest patch found by probing checksum files from ${start}`,
      line: { major: request.major, minor: request.minor },
      probe: { start, bumpMinor: false, method: 'GET', url: probeUrl },
    };
  }
  const major = request.kind === 'major' ? request.major : defaultMajor;
  // Counting up from the pinned default costs fewer requests than from X.0.0.
  const start = major === defaultMajor ? DEFAULT_HELM : `${major}.0.0`;
  return {
    rule:
      request.kind === 'latest'
        ? `helm latest: the newest ${major}.x (the pinned default's major; ask for '4' to cross majors), ` +
          `from helm-latest-version when it is on ${major}.x, else by probing checksum files from ${start}`
        : `helm ${major}: helm-latest-version when it is on ${major}.x, else probing checksum files from ${start}`,
    lookup: { url: `${site.base}/helm-latest-version`, format: 'text' },
    line: { major },
    probe: { start, bumpMinor: true, method: 'GET', url: probeUrl },
  };
}
