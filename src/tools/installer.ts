import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { runCommand } from '../clients/command.js';
import type { Deadline } from '../lib/deadline.js';
import { ActionError } from '../lib/errors.js';
import { parseChecksumFile } from './checksum.js';
import { downloadFile, fetchText, HttpStatusError } from './fetch.js';
import { describePlatform, type Platform } from './platform.js';
import { resolveVersion } from './resolve.js';
import { siteFor, type Site, type ToolName, type ToolSpec } from './types.js';
import { describeRequest, type VersionRequest } from './version.js';

export interface InstalledTool {
  name: ToolName;
  version: string;
  /** Absolute path of the executable. */
  binary: string;
  /** The folder on PATH that holds it. */
  dir: string;
  source: 'path' | 'cache' | 'download';
}

export interface InstallContext {
  deadline: Deadline;
  platform: Platform;
  mirror: string | undefined;
  /** Replaces the publisher's base URL (the benchmarks and tests point it at the download-site stand-in). */
  base?: string;
  /** The PATH searched for a tool the runner already has. */
  searchPath: string;
  /** A checksum the user pinned; the only way to verify a publisher that publishes none (gcloud). */
  sha256?: string;
  /** Take whatever version is on PATH (gcloud when no version was asked for). */
  acceptAnyOnPath?: boolean;
}

/** resolve version -> tool cache -> PATH -> download, verify, extract, cache. Adding to PATH is the caller's. */
export async function installTool(
  spec: ToolSpec,
  request: VersionRequest,
  ctx: InstallContext,
): Promise<InstalledTool> {
  const site = siteFor(spec, ctx.mirror, ctx.base);
  const log = (line: string): void => core.info(`[${spec.name}] ${line}`);
  log(
    `wanted: ${describeRequest(request)} for ${describePlatform(ctx.platform)}${site.mirrored ? ` from mirror ${site.base}` : ''}`,
  );

  if (ctx.acceptAnyOnPath) {
    const onPath = await findOnPath(spec, ctx.searchPath, ctx.deadline);
    if (onPath) {
      log(`using ${onPath.version} already on PATH at ${onPath.binary} (no exact version asked for)`);
      return onPath;
    }
  }

  const version =
    request.kind === 'exact'
      ? request.version
      : await resolveVersion(spec, request, ctx.platform, site, ctx.deadline);

  const cached = tc.find(spec.name, version, ctx.platform.arch);
  if (cached) {
    const binary = path.join(cached, spec.binary);
    if (fs.existsSync(binary)) {
      log(`using ${version} from the tool cache at ${cached}`);
      return { name: spec.name, version, binary, dir: path.join(cached, spec.binDir), source: 'cache' };
    }
    log(`the tool cache entry ${cached} has no ${spec.binary}; downloading again`);
  }

  const onPath = await findOnPath(spec, ctx.searchPath, ctx.deadline);
  if (onPath?.version === version) {
    log(`using ${version} already on PATH at ${onPath.binary}`);
    return onPath;
  }
  if (onPath) log(`PATH has ${onPath.version} at ${onPath.binary}, not ${version}`);

  return download(spec, version, site, ctx);
}

async function download(
  spec: ToolSpec,
  version: string,
  site: Site,
  ctx: InstallContext,
): Promise<InstalledTool> {
  const { platform, deadline } = ctx;
  const log = (line: string): void => core.info(`[${spec.name}] ${line}`);
  const url = spec.downloadUrl(version, platform, site);
  const tmp = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), `skyha-${spec.name}-`));
  try {
    const checksumUrl = spec.checksumUrl(version, platform, site);
    let expected: { sha256: string; from: string } | undefined;
    if (checksumUrl !== undefined) {
      const text = await fetchText(checksumUrl, deadline).catch((error: unknown) =>
        notPublished(spec, version, platform, error),
      );
      expected = {
        sha256: parseChecksumFile(text, spec.fileName(version, platform), checksumUrl),
        from: checksumUrl,
      };
    } else if (ctx.sha256 !== undefined) {
      expected = { sha256: ctx.sha256, from: `the pinned ${spec.name}-sha256` };
    }

    log(`downloading ${url}`);
    const file = path.join(tmp, spec.fileName(version, platform));
    const actual = await downloadFile(url, file, deadline).catch((error: unknown) =>
      notPublished(spec, version, platform, error),
    );
    if (expected === undefined) {
      core.warning(
        `${spec.name} ${version} from ${url} is NOT verified: the publisher has no checksum file for it. ` +
          `Its SHA-256 is ${actual}; set ${spec.name}-sha256 to that value to verify future downloads.`,
      );
    } else if (expected.sha256 !== actual) {
      fs.rmSync(file, { force: true });
      throw new ActionError(
        `Checksum mismatch for ${url}: expected SHA-256 ${expected.sha256} (from ${expected.from}), got ${actual}`,
        {
          hint: 'The download was deleted and nothing was cached. Retry; if it persists, the mirror or a proxy serves a different file',
        },
      );
    } else {
      log(`SHA-256 ${actual} matches ${expected.from}`);
    }

    const root = await unpack(spec, file, tmp, platform);
    const binary = path.join(root, spec.binary);
    if (!fs.existsSync(binary)) {
      throw new ActionError(
        `${url} does not contain ${path.posix.join(spec.packageRoot(platform), spec.binary)}`,
        {
          hint: "The archive does not have the publisher's layout; check the mirror",
        },
      );
    }
    await checkReportedVersion(spec, binary, version, url, deadline);
    const cachedDir = await tc.cacheDir(root, spec.name, version, platform.arch);
    log(`installed ${version} into the tool cache at ${cachedDir}`);
    return {
      name: spec.name,
      version,
      binary: path.join(cachedDir, spec.binary),
      dir: path.join(cachedDir, spec.binDir),
      source: 'download',
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Puts a bare binary in a folder of its own, or extracts an archive; returns the folder to cache. */
async function unpack(spec: ToolSpec, file: string, tmp: string, platform: Platform): Promise<string> {
  const out = path.join(tmp, 'unpacked');
  if (spec.archive === 'binary') {
    fs.mkdirSync(out);
    const binary = path.join(out, spec.binary);
    fs.renameSync(file, binary);
    fs.chmodSync(binary, 0o755);
    return out;
  }
  await tc.extractTar(file, out);
  fs.rmSync(file, { force: true });
  return path.join(out, spec.packageRoot(platform));
}

/** The binary must say it is the version we asked for: a checksum only proves the mirror served its own file intact. */
async function checkReportedVersion(
  spec: ToolSpec,
  binary: string,
  version: string,
  url: string,
  deadline: Deadline,
): Promise<void> {
  const reported = await reportedVersion(spec, binary, deadline);
  if (reported !== version) {
    throw new ActionError(
      `${url} holds a ${spec.name} that reports version ${reported ?? 'nothing'}, not ${version}`,
      {
        hint: 'The mirror serves a mislabelled file; nothing was cached',
      },
    );
  }
}

async function reportedVersion(
  spec: ToolSpec,
  binary: string,
  deadline: Deadline,
): Promise<string | undefined> {
  const result = await runCommand(binary, spec.versionArgs, { allowFailure: true, budget: deadline });
  return result.exitCode === 0 ? spec.parseVersion(result.stdout) : undefined;
}

/** The tool the runner already has, if its version can be read. */
async function findOnPath(
  spec: ToolSpec,
  searchPath: string,
  deadline: Deadline,
): Promise<InstalledTool | undefined> {
  const binary = findExecutable(path.basename(spec.binary), searchPath);
  if (binary === undefined) return undefined;
  const version = await reportedVersion(spec, binary, deadline);
  if (version === undefined) return undefined;
  return { name: spec.name, version, binary, dir: path.dirname(binary), source: 'path' };
}

export function findExecutable(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** A 404 (or 403) on the checksum or archive means the version does not exist for this platform. */
function notPublished(spec: ToolSpec, version: string, platform: Platform, error: unknown): never {
  if (error instanceof HttpStatusError && (error.status === 404 || error.status === 403)) {
    throw new ActionError(
      `${spec.name} ${version} for ${describePlatform(platform)} is not published: ${error.message}`,
      {
        cause: error,
        hint: `Check ${spec.name}-version (e.g. latest, a major.minor, or an existing release)`,
      },
    );
  }
  throw error;
}
