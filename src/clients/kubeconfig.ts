import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ActionError } from '../lib/errors.js';

/** The cluster half of the current context: where to connect and how to trust it. */
export interface KubeCluster {
  server: string;
  /** PEM from certificate-authority-data or the certificate-authority file; undefined = the system roots. */
  ca: Buffer | undefined;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | undefined;
  proxyUrl: string | undefined;
}

/** An exec credential plugin as the kubeconfig names it (client.authentication.k8s.io v1 or v1beta1). */
export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
  installHint: string | undefined;
  provideClusterInfo: boolean;
  interactiveMode: string | undefined;
}

/** The user half: at most one way to authenticate is used, in client-go's order (token, basic, exec). */
export interface KubeUser {
  token: string | undefined;
  tokenFile: string | undefined;
  username: string | undefined;
  password: string | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  exec: ExecPlugin | undefined;
}

export interface KubeContext {
  name: string;
  cluster: KubeCluster;
  user: KubeUser;
  /** The context's namespace, or `default`. */
  namespace: string;
  /** The files read, for error messages. */
  files: string[];
}

export interface KubeconfigSource {
  /** An explicit file (like --kubeconfig): only it is read. Else KUBECONFIG (a path list), else ~/.kube/config. */
  path?: string;
  /** Another context than the file's current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

type Rec = Record<string, unknown>;

interface Entry {
  value: Rec;
  /** The directory of the file that defined it: relative paths in it are resolved against this. */
  dir: string;
}

interface Merged {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext: string | undefined;
  files: string[];
}

/** Reads the kubeconfig as kubectl would and resolves its current context; throws with a hint when it cannot. */
export function loadKubeconfig(source: KubeconfigSource = {}): KubeContext {
  const env = source.env ?? process.env;
  const merged = mergeFiles(kubeconfigFiles(source, env));
  const name = source.context || merged.currentContext;
  const where = merged.files.join(', ');
  if (!name) throw configError(`The kubeconfig (${where}) has no current-context`);
  const context = merged.contexts.get(name);
  if (!context) throw configError(`The kubeconfig (${where}) has no context named ${name}`);
  const clusterName = str(context.value.cluster);
  const cluster = clusterName ? merged.clusters.get(clusterName) : undefined;
  if (!cluster)
    throw configError(`Context ${name} names cluster ${clusterName ?? '(none)'}, which the kubeconfig lacks`);
  const userName = str(context.value.user);
  const user = userName ? merged.users.get(userName) : undefined;
  return {
    name,
    cluster: readCluster(cluster, name),
    user: readUser(user),
    namespace: str(context.value.namespace) || 'default',
    files: merged.files,
  };
}

function kubeconfigFiles(source: KubeconfigSource, env: NodeJS.ProcessEnv): string[] {
  if (source.path) {
    if (!fs.existsSync(source.path)) throw configError(`The kubeconfig ${source.path} does not exist`);
    return [source.path];
  }
  // KUBECONFIG lists files like PATH does; missing ones are skipped, as kubectl skips them.
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const files = listed.length ? listed : [path.join(env.HOME || os.homedir(), '.kube', 'config')];
  const present = files.filter((f) => fs.existsSync(f));
  if (!present.length) throw configError(`No kubeconfig found (looked for ${files.join(', ')})`);
  return present;
}

// client-go's merge: the first file to define a name (or the current-context) wins.
function mergeFiles(files: string[]): Merged {
  const merged: Merged = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
    files,
  };
  for (const file of files) {
    const doc = parseFile(file);
    const dir = path.dirname(path.resolve(file));
    merged.currentContext ||= str(doc['current-context']);
    addNamed(merged.clusters, doc.clusters, 'cluster', dir);
    addNamed(merged.users, doc.users, 'user', dir);
    addNamed(merged.contexts, doc.contexts, 'context', dir);
  }
  return merged;
}

function parseFile(file: string): Rec {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw configError(`The kubeconfig ${file} is not valid YAML`, error);
  }
  return rec(doc);
}

function addNamed(into: Map<string, Entry>, list: unknown, field: string, dir: string): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    const name = str(rec(item).name);
    if (name && !into.has(name)) into.set(name, { value: rec(rec(item)[field]), dir });
  }
}

function readCluster(entry: Entry, context: string): KubeCluster {
  const c = entry.value;
  const server = str(c.server)?.replace(/\/+$/, '');
  if (!server) throw configError(`The cluster of context ${context} has no server`);
  return {
    server,
    ca: pem(c['certificate-authority-data'], c['certificate-authority'], entry.dir),
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c['tls-server-name']),
    proxyUrl: str(c['proxy-url']),
  };
}

function readUser(entry: Entry | undefined): KubeUser {
  const u = entry?.value ?? {};
  const dir = entry?.dir ?? process.cwd();
  if (rec(u['auth-provider']).name) {
    throw configError(
      `The kubeconfig user uses the auth-provider ${String(rec(u['auth-provider']).name)}`,
      undefined,
      'auth-provider was removed from Kubernetes clients; for GKE use an exec plugin (gke-gcloud-auth-plugin)',
    );
  }
  const tokenFile = str(u['token-file']);
  return {
    token: str(u.token),
    tokenFile: tokenFile ? path.resolve(dir, tokenFile) : undefined,
    username: str(u.username),
    password: str(u.password),
    cert: pem(u['client-certificate-data'], u['client-certificate'], dir),
    key: pem(u['client-key-data'], u['client-key'], dir),
    exec: readExec(rec(u.exec), dir),
  };
}

function readExec(exec: Rec, dir: string): ExecPlugin | undefined {
  const command = str(exec.command);
  if (!command) return undefined;
  const env: Record<string, string> = {};
  for (const item of Array.isArray(exec.env) ? exec.env : []) {
    const name = str(rec(item).name);
    if (name) env[name] = str(rec(item).value) ?? '';
  }
  return {
    // A relative command with a slash is relative to the kubeconfig's folder; a bare name is looked up on PATH.
    command: command.includes('/') && !path.isAbsolute(command) ? path.resolve(dir, command) : command,
    args: Array.isArray(exec.args) ? exec.args.map(String) : [],
    env,
    apiVersion: str(exec.apiVersion) ?? 'client.authentication.k8s.io/v1',
    installHint: str(exec.installHint),
    provideClusterInfo: exec.provideClusterInfo === true,
    interactiveMode: str(exec.interactiveMode),
  };
}

function pem(data: unknown, file: unknown, dir: string): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file) {
    const full = path.resolve(dir, file);
    try {
      return fs.readFileSync(full);
    } catch (error) {
      throw configError(`The kubeconfig names ${full}, which cannot be read`, error);
    }
  }
  return undefined;
}

function configError(message: string, cause?: unknown, hint?: string): ActionError {
  return new ActionError(message, {
    ...(cause === undefined ? {} : { cause }),
    hint: hint ?? 'Check the kubeconfig (KUBECONFIG, or the cluster inputs that write one)',
  });
}

function rec(value: unknown): Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Rec) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}
