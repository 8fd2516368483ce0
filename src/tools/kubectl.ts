import { goArch, type Platform } from './platform.js';
import type { ResolutionPlan, Site, ToolSpec } from './types.js';
import { cleanVersion, type VersionRequest } from './version.js';

/** kubectl's layout on dl.k8s.io: one bare binary per version and platform, a `.sha256` beside it. */
export const kubectl: ToolSpec = {
  name: 'kubectl',
  defaultVersion: '1.35.2',
  officialBase: 'https://dl.k8s.io',
  archive: 'binary',
  downloadUrl: (version, platform, site) =>
    `${site.base}/release/v${version}/bin/${platform.os}/${goArch(platform)}/kubectl`,
  checksumUrl: (version, platform, site) => `${kubectl.downloadUrl(version, platform, site)}.sha256`,
  fileName: () => 'kubectl',
  packageRoot: () => '',
  binary: 'kubectl',
  binDir: '',
  versionArgs: ['version', '--client', '-o', 'json'],
  parseVersion(stdout) {
    try {
      const parsed = JSON.parse(stdout) as { clientVersion?: { gitVersion?: unknown } };
      const git = parsed.clientVersion?.gitVersion;
      return typeof git === 'string' ? cleanVersion(git) : undefined;
    } catch {
      return undefined;
    }
  },
  resolution: kubectlResolution,
};

/** dl.k8s.io names the newest release overall (stable.txt) and per minor (stable-1.35.txt): no probing needed. */
function kubectlResolution(
  request: Exclude<VersionRequest, { kind: 'exact' }>,
  _platform: Platform,
  site: Site,
): ResolutionPlan {
  if (request.kind === 'minor') {
    const minor = `${request.major}.${request.minor}`;
    return {
      rule: `kubectl ${minor}: the newest ${minor} patch named by release/stable-${minor}.txt`,
      lookup: { url: `${site.base}/release/stable-${minor}.txt`, format: 'text' },
      line: { major: request.major, minor: request.minor },
    };
  }
  const major = request.kind === 'major' ? request.major : 1;
  return {
    rule: `kubectl ${request.kind === 'latest' ? 'latest' : major}: the release named by release/stable.txt (stable releases only, major ${major})`,
    lookup: { url: `${site.base}/release/stable.txt`, format: 'text' },
    line: { major },
  };
}
