import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { ActionError } from '../lib/errors.js';
import type { ExecPlugin, KubeCluster, KubeUser } from './kubeconfig.js';

/** What a request carries to authenticate: a header and/or a client certificate. */
export interface Credential {
  authorization: string | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

interface Cached {
  credential: Credential;
  /** ms since the epoch; undefined = never expires. */
  expiresAt: number | undefined;
}

/**
 * The kubeconfig user's credential, as client-go gives it: a static token, token file, basic auth or client
 * certificate as is; an exec plugin's answer cached until its expirationTimestamp, with one plugin run shared by
 * the requests that need it at once.
 */
export class CredentialSource {
  private cached: Cached | undefined;
  private running: Promise<Cached> | undefined;
  /** How often the exec plugin ran (tests and the debug log read it). */
  execRuns = 0;

  constructor(
    private readonly user: KubeUser,
    private readonly cluster: KubeCluster,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a 401 may be cured by asking again (only an exec plugin can give a new credential). */
  get refreshable(): boolean {
    return !this.user.token && !this.user.tokenFile && this.user.exec !== undefined;
  }

  async get(remainingMs: () => number): Promise<Credential> {
    const { user } = this;
    if (user.token) return this.static(`Bearer ${user.token}`);
    if (user.tokenFile) return this.static(`Bearer ${readTokenFile(user.tokenFile)}`);
    if (user.username !== undefined && user.password !== undefined) {
      return this.static(`Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    }
    if (!user.exec) return this.static(undefined);
    const cached = this.cached;
    if (cached && (cached.expiresAt === undefined || this.now() < cached.expiresAt)) return cached.credential;
    this.running ??= this.runPlugin(user.exec, remainingMs).finally(() => {
      this.running = undefined;
    });
    const fresh = await this.running;
    this.cached = fresh;
    return fresh.credential;
  }

  /** The server refused the credential: the next request runs the plugin again. */
  invalidate(): void {
    this.cached = undefined;
  }

  private static(authorization: string | undefined): Credential {
    return { authorization, cert: this.user.cert, key: this.user.key };
  }

  private async runPlugin(exec: ExecPlugin, remainingMs: () => number): Promise<Cached> {
    if (exec.interactiveMode === 'Always') {
      throw pluginError(
        exec,
        'needs a terminal (interactiveMode: Always), which a workflow step does not have',
      );
    }
    this.execRuns += 1;
    const stdout = await runCommand(exec, this.execInfo(exec), remainingMs());
    return parseExecCredential(exec, stdout, this.user);
  }

  // client-go hands the plugin its input in KUBERNETES_EXEC_INFO: never interactive here.
  private execInfo(exec: ExecPlugin): string {
    const spec: Record<string, unknown> = { interactive: false };
    if (exec.provideClusterInfo) {
      const c = this.cluster;
      spec.cluster = {
        server: c.server,
        ...(c.tlsServerName ? { 'tls-server-name': c.tlsServerName } : {}),
        ...(c.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
        ...(c.ca ? { 'certificate-authority-data': c.ca.toString('base64') } : {}),
        ...(c.proxyUrl ? { 'proxy-url': c.proxyUrl } : {}),
      };
    }
    return JSON.stringify({ apiVersion: exec.apiVersion, kind: 'ExecCredential', spec });
  }
}

function readTokenFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ActionError(`The kubeconfig's token-file ${file} cannot be read`, { cause: error });
  }
}

function runCommand(exec: ExecPlugin, execInfo: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (timeoutMs <= 0) return reject(pluginError(exec, 'was not run: the run is out of time'));
    const child = spawn(exec.command, exec.args, {
      env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: execInfo },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A bare name searched on a PATH with a directory this user cannot read fails EACCES, not ENOENT.
      const bare = !exec.command.includes('/');
      const missing = error.code === 'ENOENT' || (bare && error.code === 'EACCES');
      const why = missing ? 'was not found (on PATH, or not executable)' : `could not run: ${error.message}`;
      reject(pluginError(exec, why, error));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join('\n');
      if (signal) return reject(pluginError(exec, `did not answer in time (killed by ${signal})`));
      if (code !== 0)
        return reject(pluginError(exec, `exited with code ${code}${stderr ? `: ${stderr}` : ''}`));
      resolve(Buffer.concat(out).toString('utf8'));
    });
  });
}

function parseExecCredential(exec: ExecPlugin, stdout: string, user: KubeUser): Cached {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw pluginError(exec, 'did not print an ExecCredential as JSON');
  }
  const obj = (parsed ?? {}) as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  if (obj.kind !== 'ExecCredential' || obj.apiVersion !== exec.apiVersion) {
    throw pluginError(
      exec,
      `printed ${String(obj.apiVersion)} ${String(obj.kind)}, not ${exec.apiVersion} ExecCredential`,
    );
  }
  const status = obj.status ?? {};
  const token = typeof status.token === 'string' && status.token ? status.token : undefined;
  const cert =
    typeof status.clientCertificateData === 'string' ? Buffer.from(status.clientCertificateData) : undefined;
  const key = typeof status.clientKeyData === 'string' ? Buffer.from(status.clientKeyData) : undefined;
  if (!token && !(cert && key))
    throw pluginError(exec, 'printed neither a token nor a client certificate and key');
  const expiry =
    typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
  return {
    credential: {
      authorization: token ? `Bearer ${token}` : undefined,
      cert: cert ?? user.cert,
      key: key ?? user.key,
    },
    expiresAt: Number.isNaN(expiry) ? undefined : expiry,
  };
}

function pluginError(exec: ExecPlugin, what: string, cause?: unknown): ActionError {
  return new ActionError(`The kubeconfig's credential plugin ${exec.command} ${what}`, {
    ...(cause === undefined ? {} : { cause }),
    hint:
      exec.installHint?.trim() ||
      'Check that the plugin is installed and on PATH (for GKE: gcloud components install gke-gcloud-auth-plugin) and that the workflow authenticated to the cloud first',
  });
}
