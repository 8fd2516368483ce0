import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeStandIn } from '../../standins/kubernetes/index.js';
import { toolEnv } from './clients.js';

export type Obj = Record<string, unknown>;

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a real kubectl/helm; never throws on a failure, so tests can assert exit code and stderr. */
export function runTool(
  binary: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      args,
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A temp dir with a kubeconfig for the stand-in and a private HOME for the tools. */
export function toolsFor(kube: KubeStandIn): {
  dir: string;
  env: Record<string, string>;
  cleanup: () => void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-standin-kube-'));
  const env = { ...toolEnv(dir), KUBECONFIG: kube.writeKubeconfig(dir) };
  return { dir, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One raw request to the API server; the parsed JSON body (or {} when empty). */
export async function api(
  kube: KubeStandIn,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Obj }> {
  const response = await fetch(`${kube.url}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Obj };
}

export function field(obj: unknown, dotted: string): unknown {
  let at = obj;
  for (const part of dotted.split('.')) {
    at = typeof at === 'object' && at !== null ? (at as Obj)[part] : undefined;
  }
  return at;
}
