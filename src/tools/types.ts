import type { Platform } from './platform.js';
import type { VersionLine, VersionRequest } from './version.js';

export type ToolName = 'helm' | 'kubectl' | 'gcloud';

/** Where one tool's files come from: the publisher's site, or the `<mirror>/<tool>` folder that copies it. */
export interface Site {
  base: string;
  mirrored: boolean;
}

/** How to turn `latest`, a major or a major.minor into one exact version, using only the publisher's files. */
export interface ResolutionPlan {
  /** The log line that states the rule, so nobody wonders why `latest` picked what it picked. */
  rule: string;
  /** A file in which the publisher names its newest release. */
  lookup?: { url: string; format: 'text' | 'json-version' };
  /** The release line the answer must stay on; a lookup answer off it is not taken. */
  line?: VersionLine;
  /** Finds the newest release on the line by asking which files exist, counting up from `start`. */
  probe?: { start: string; bumpMinor: boolean; method: 'GET' | 'HEAD'; url: (version: string) => string };
}

/** Everything the one installer needs to know about one tool: URL layout, version rules, archive shape. */
export interface ToolSpec {
  name: ToolName;
  /** Pinned, known to work with the SkyPilot chart. */
  defaultVersion: string;
  officialBase: string;
  archive: 'binary' | 'tar.gz';
  downloadUrl(version: string, platform: Platform, site: Site): string;
  /** The publisher's checksum file, or undefined when it publishes none. */
  checksumUrl(version: string, platform: Platform, site: Site): string | undefined;
  /** The file name a `<hex>  <name>` checksum line must name. */
  fileName(version: string, platform: Platform): string;
  /** The folder inside the extracted archive that goes into the tool cache ('' = the archive root). */
  packageRoot(platform: Platform): string;
  /** The executable, relative to the cached folder. */
  binary: string;
  /** The folder added to PATH, relative to the cached folder. */
  binDir: string;
  versionArgs: readonly string[];
  parseVersion(stdout: string): string | undefined;
  resolution(
    request: Exclude<VersionRequest, { kind: 'exact' }>,
    platform: Platform,
    site: Site,
  ): ResolutionPlan;
}

/** `<mirror>/<tool>` when a mirror is given, else the publisher (or a stand-in that copies it, in tests). */
export function siteFor(spec: ToolSpec, mirror: string | undefined, base?: string): Site {
  if (mirror !== undefined) return { base: `${mirror.replace(/\/+$/, '')}/${spec.name}`, mirrored: true };
  return { base: (base ?? spec.officialBase).replace(/\/+$/, ''), mirrored: false };
}
