import * as core from '@actions/core';
import { ActionError } from '../lib/errors.js';
import type { Deadline } from '../lib/deadline.js';
import { fetchText, fileExists } from './fetch.js';
import type { Platform } from './platform.js';
import type { ResolutionPlan, Site, ToolSpec } from './types.js';
import { describeLine, isStableVersion, onLine, parseStable, type VersionRequest } from './version.js';

/** Probing stops here: no release line has this many minors or patches, and a broken mirror must not loop forever. */
const MAX_PROBE_STEPS = 200;

/** Turns `latest`, a major or a major.minor into an exact version, or fails saying which URL answered what. */
export async function resolveVersion(
  spec: ToolSpec,
  request: Exclude<VersionRequest, { kind: 'exact' }>,
  platform: Platform,
  site: Site,
  deadline: Deadline,
): Promise<string> {
  const plan = spec.resolution(request, platform, site);
  core.info(`[${spec.name}] ${plan.rule}`);
  try {
    return await followPlan(spec, plan, deadline);
  } catch (error) {
    throw new ActionError(`Could not resolve ${spec.name}-version '${describe(request)}'`, {
      cause: error,
      hint: `Check that the release exists${site.mirrored ? ' in the mirror' : ''}, or pin an exact ${spec.name}-version`,
    });
  }
}

async function followPlan(spec: ToolSpec, plan: ResolutionPlan, deadline: Deadline): Promise<string> {
  if (plan.lookup) {
    const text = await fetchText(plan.lookup.url, deadline);
    const named = parseLookup(text, plan.lookup.format, plan.lookup.url);
    const onTheLine = plan.line === undefined ? isStableVersion(named) : onLine(named, plan.line);
    if (onTheLine) {
      core.info(`[${spec.name}] ${plan.lookup.url} names ${named}`);
      return named;
    }
    const why = isStableVersion(named) ? `not on ${describeLine(plan.line!)}` : 'not a stable release';
    if (!plan.probe) throw new ActionError(`${plan.lookup.url} names ${named}, which is ${why}`);
    core.info(`[${spec.name}] ${plan.lookup.url} names ${named}, ${why}: probing instead`);
  }
  if (!plan.probe) throw new ActionError(`no way to resolve ${spec.name} versions is defined`);
  return probeNewest(spec, plan.probe, deadline);
}

/** Reads a publisher's "newest version" file: `v1.35.2` as text, or components-2.json's top-level `version`. */
export function parseLookup(text: string, format: 'text' | 'json-version', url: string): string {
  let raw: unknown;
  if (format === 'text') {
    raw = text.trim();
  } else {
    try {
      raw = (JSON.parse(text) as { version?: unknown }).version;
    } catch {
      throw new ActionError(`${url} is not JSON`);
    }
  }
  if (typeof raw !== 'string' || !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(raw)) {
    throw new ActionError(`${url} does not name a version (got '${String(raw).slice(0, 40)}')`);
  }
  return raw.replace(/^v/, '');
}

/** Counts up minors (when allowed) then patches while the publisher has the next file. */
async function probeNewest(
  spec: ToolSpec,
  probe: NonNullable<ResolutionPlan['probe']>,
  deadline: Deadline,
): Promise<string> {
  const start = parseStable(probe.start)!;
  const exists = (v: string): Promise<boolean> => fileExists(probe.url(v), probe.method, deadline);
  if (!(await exists(probe.start))) {
    throw new ActionError(
      `${spec.name} ${probe.start} is not published: ${probe.method} ${probe.url(probe.start)} found nothing`,
    );
  }
  const major = start[0];
  let [, minor, patch] = start;
  for (let step = 0; probe.bumpMinor && step < MAX_PROBE_STEPS; step++) {
    if (!(await exists(`${major}.${minor + 1}.0`))) break;
    minor += 1;
    patch = 0;
  }
  for (let step = 0; step < MAX_PROBE_STEPS; step++) {
    if (!(await exists(`${major}.${minor}.${patch + 1}`))) break;
    patch += 1;
  }
  const found = `${major}.${minor}.${patch}`;
  core.info(`[${spec.name}] newest published by probing: ${found}`);
  return found;
}

function describe(request: Exclude<VersionRequest, { kind: 'exact' }>): string {
  if (request.kind === 'latest') return 'latest';
  return request.kind === 'major' ? `${request.major}` : `${request.major}.${request.minor}`;
}
