import { ActionError } from '../lib/errors.js';

export type OsName = 'linux' | 'darwin';
export type ArchName = 'x64' | 'arm64';

/** Where the tools will run; a parameter so tests can ask for any platform without touching process globals. */
export interface Platform {
  os: OsName;
  arch: ArchName;
}

/** The runner's own platform; anything the publishers do not build for us is a clear error. */
export function currentPlatform(platform: string = process.platform, arch: string = process.arch): Platform {
  if (platform !== 'linux' && platform !== 'darwin') {
    throw new ActionError(`Unsupported runner OS '${platform}'`, {
      hint: 'skyha-action installs helm, kubectl and gcloud on Linux and macOS runners only; use ubuntu-latest',
    });
  }
  if (arch !== 'x64' && arch !== 'arm64') {
    throw new ActionError(`Unsupported runner architecture '${arch}'`, {
      hint: 'skyha-action supports x64 and arm64 runners',
    });
  }
  return { os: platform, arch };
}

/** Kubernetes and Helm name architectures the Go way. */
export function goArch(platform: Platform): 'amd64' | 'arm64' {
  return platform.arch === 'x64' ? 'amd64' : 'arm64';
}

export function describePlatform(platform: Platform): string {
  return `${platform.os}/${goArch(platform)}`;
}
