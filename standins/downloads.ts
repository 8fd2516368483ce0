/**
 * A stand-in for the download sites (dl.k8s.io, get.helm.sh, dl.google.com's Cloud SDK channel) on one local
 * HTTP server, with the official paths at the root and the same paths under `/mirror/<tool>/`. kubectl and helm
 * are the REAL binaries from the @aws-cdk lambda layers; helm archives and the gcloud archive are built here.
 * Fault injection: tampered files, N failures of a path, 404 for anything not in the catalogue.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { realBinaries, type HelmFlavour } from './binaries.js';
import { cacheDir } from './cacheDir.js';

export type SiteOs = 'linux' | 'darwin';
export type SiteArch = 'amd64' | 'arm64';

export interface DownloadSiteOptions {
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** kubectl versions served, and which real layer provides the binary. */
  kubectl?: Record<string, HelmFlavour>;
  /** helm versions served; a version whose layer holds another helm is "mislabelled" (for resolution tests). */
  helm?: Record<string, HelmFlavour>;
  /** gcloud versions served (archives built here, the gcloud inside answers with that version). */
  gcloud?: string[];
  /** What release/stable.txt, helm-latest-version and components-2.json name. */
  kubectlStable?: string;
  helmLatest?: string;
  gcloudLatest?: string;
  /** Per-response bandwidth cap for tool files, to model a real link (benchmarks); unlimited by default. */
  bytesPerSecond?: number;
}

export interface RequestRecord {
  method: string;
  /** The path as requested, e.g. /mirror/helm/helm-v3.17.3-linux-amd64.tar.gz */
  path: string;
  status: number;
}

export interface DownloadSite {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The official layouts on this server: pass as `bases` to installTools. */
  bases: { helm: string; kubectl: string; gcloud: string };
  /** A mirror under a sub-path: pass as `tools-mirror`. */
  mirror: string;
  requests: RequestRecord[];
  /** CONNECT targets (host:port) when used as HTTP(S)_PROXY: the stand-in then plays every publisher's host. */
  proxyConnects: string[];
  /** Requests that fetched a tool (archive or binary), not version or checksum files. */
  downloads(): RequestRecord[];
  clearLog(): void;
  /** Clears the log and every injected fault. */
  reset(): void;
  /** Serves a path (relative to the site, e.g. '/helm-v3.17.3-linux-amd64.tar.gz') with extra bytes from now on. */
  tamper(pathSuffix: string): void;
  /** The next `times` requests whose path ends with `pathSuffix` get `status` (default 503). */
  failNext(pathSuffix: string, times: number, status?: number): void;
  close(): Promise<void>;
}

const HELM_DEFAULT: Record<string, HelmFlavour> = {
  '3.17.0': 'helm3',
  '3.17.1': 'helm3',
  '3.17.2': 'helm3',
  '3.17.3': 'helm3',
  // Mislabelled on purpose: they exist for probing (the pinned default 3.19.0) but hold helm 3.17.3.
  '3.19.0': 'helm3',
  '3.19.1': 'helm3',
  '4.1.4': 'helm4',
};
const KUBECTL_DEFAULT: Record<string, HelmFlavour> = { '1.35.2': 'helm4', '1.31.9': 'helm3' };
const GCLOUD_DEFAULT = ['548.0.0', '549.0.0', '549.0.1'];

type Tool = 'kubectl' | 'helm' | 'gcloud';

/** What a site-relative path of a tool serves: a file on disk or a text body; undefined for 404. */
type Resolver = (tool: Tool, rest: string, mirrored: boolean) => Promise<Body | undefined>;

/** The faults a test injects, consulted on every request. */
interface Faults {
  tampered: Set<string>;
  failures: { suffix: string; left: number; status: number }[];
}

export async function startDownloadSite(options: DownloadSiteOptions = {}): Promise<DownloadSite> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-downloads-'));
  const resolve = catalogue(options, work);
  const requests: RequestRecord[] = [];
  const proxyConnects: string[] = [];
  const faults: Faults = { tampered: new Set(), failures: [] };
  const server = http.createServer((req, res) =>
    serveDownload(req, res, { resolve, requests, faults, options }),
  );
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen) => server.listen(0, host, resolveListen));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${host}:${port}`;
  const tunnels = acceptTunnels(server, { host, port }, proxyConnects);
  return {
    origin,
    bases: { kubectl: origin, helm: origin, gcloud: `${origin}/dl/cloudsdk/channels/rapid` },
    mirror: `${origin}/mirror`,
    requests,
    proxyConnects,
    downloads: () => requests.filter((r) => /(\/kubectl|\.tar\.gz)$/.test(r.path) && r.method === 'GET'),
    clearLog: () => void requests.splice(0),
    reset: () => {
      requests.splice(0);
      proxyConnects.splice(0);
      faults.tampered.clear();
      faults.failures.splice(0);
    },
    tamper: (suffix) => void faults.tampered.add(suffix.startsWith('/') ? suffix : `/${suffix}`),
    failNext: (suffix, times, status = 503) => void faults.failures.push({ suffix, left: times, status }),
    close: async () => {
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The served versions of each tool, and where each path's bytes come from (archives built once, on demand). */
function catalogue(options: DownloadSiteOptions, work: string): Resolver {
  const kubectlVersions = options.kubectl ?? KUBECTL_DEFAULT;
  const helmVersions = options.helm ?? HELM_DEFAULT;
  const gcloudVersions = options.gcloud ?? GCLOUD_DEFAULT;
  const built = new Map<string, Promise<string>>();
  const once = (key: string, make: () => Promise<string>): Promise<string> => {
    let found = built.get(key);
    if (!found) {
      found = make();
      built.set(key, found);
    }
    return found;
  };
  const kubectl = async (rest: string): Promise<Body | undefined> => {
    if (rest === '/release/stable.txt') return { text: `v${options.kubectlStable ?? '1.35.2'}` };
    const stable = /^\/release\/stable-(\d+)\.(\d+)\.txt$/.exec(rest);
    if (stable) {
      const newest = newestOn(Object.keys(kubectlVersions), `${stable[1]}.${stable[2]}.`);
      return newest === undefined ? undefined : { text: `v${newest}` };
    }
    const bin = /^\/release\/v([^/]+)\/bin\/(linux|darwin)\/(amd64|arm64)\/kubectl(\.sha256)?$/.exec(rest);
    const flavour = bin ? kubectlVersions[bin[1]!] : undefined;
    if (!bin || !flavour) return undefined;
    const file = (await realBinaries(flavour)).kubectl;
    return bin[4] ? { text: await sha256(file) } : { file };
  };
  const helm = async (rest: string): Promise<Body | undefined> => {
    if (rest === '/helm-latest-version') return { text: `v${options.helmLatest ?? '4.1.4'}` };
    const archive =
      /^\/(helm-v([^-/]+(?:-[^/]+?)?)-(linux|darwin)-(amd64|arm64)\.tar\.gz)(\.sha256sum)?$/.exec(rest);
    const flavour = archive ? helmVersions[archive[2]!] : undefined;
    if (!archive || !flavour) return undefined;
    const [osName, arch] = [archive[3] as SiteOs, archive[4] as SiteArch];
    const file = await once(`helm-${flavour}-${osName}-${arch}`, async () =>
      buildHelmArchive((await realBinaries(flavour)).helm, flavour, osName, arch),
    );
    return archive[5] ? { text: `${await sha256(file)}  ${archive[1]}\n` } : { file };
  };
  const gcloud = async (rest: string, mirrored: boolean): Promise<Body | undefined> => {
    const latest = options.gcloudLatest ?? gcloudVersions[gcloudVersions.length - 1]!;
    if (rest === '/components-2.json') return { text: componentsSnapshot(latest), type: 'application/json' };
    const downloads = mirrored ? '' : '/downloads';
    const archive = new RegExp(
      `^${downloads}/google-cloud-cli-([^/]+)-(linux|darwin)-(x86_64|arm)\\.tar\\.gz$`,
    ).exec(rest);
    if (!archive || !gcloudVersions.includes(archive[1]!)) return undefined;
    const version = archive[1]!;
    return { file: await once(`gcloud-${version}`, async () => buildGcloudArchive(work, version)) };
  };
  return async (tool, rest, mirrored) =>
    tool === 'kubectl' ? kubectl(rest) : tool === 'helm' ? helm(rest) : gcloud(rest, mirrored);
}

/** One request: an injected failure, else the file or text its path resolves to (HEAD: headers only). */
function serveDownload(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  site: { resolve: Resolver; requests: RequestRecord[]; faults: Faults; options: DownloadSiteOptions },
): void {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
  site.requests.push(record);
  const reply = (status: number, body?: Body, size?: number): void => {
    record.status = status;
    res.statusCode = status;
    if (body === undefined) {
      res.end(status === 404 ? 'not found\n' : `stand-in answered ${status}\n`);
      return;
    }
    const extra = site.faults.tampered.has(url.pathname)
      ? Buffer.from('tampered by the stand-in')
      : Buffer.alloc(0);
    sendBody(req, res, body, { extra, size: size ?? 0, bytesPerSecond: site.options.bytesPerSecond });
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405);
  const failure = site.faults.failures.find((f) => f.left > 0 && url.pathname.endsWith(f.suffix));
  if (failure) {
    failure.left -= 1;
    return reply(failure.status);
  }
  const route = routeOf(url.pathname);
  if (!route) return reply(404);
  site.resolve(route.tool, route.rest, route.mirrored).then(
    (body) => {
      if (!body) return reply(404);
      reply(200, body, body.file ? fs.statSync(body.file).size : undefined);
    },
    (error: unknown) => {
      console.error('download stand-in failed:', error);
      reply(500);
    },
  );
}

/** Writes a text or file body, with any tampering bytes after it, at the site's bandwidth. */
function sendBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Body,
  how: { extra: Buffer; size: number; bytesPerSecond: number | undefined },
): void {
  res.setHeader('content-type', body.type ?? (body.file ? 'application/octet-stream' : 'text/plain'));
  if (body.text !== undefined) {
    const bytes = Buffer.concat([Buffer.from(body.text), how.extra]);
    res.setHeader('content-length', bytes.length);
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return;
  }
  res.setHeader('content-length', how.size + how.extra.length);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const file = fs.createReadStream(body.file!, { highWaterMark: 256 * 1024 });
  const stream = how.bytesPerSecond ? Readable.from(throttled(file, how.bytesPerSecond)) : file;
  stream.on('error', () => res.destroy());
  stream.on('end', () => res.end(how.extra));
  stream.pipe(res, { end: false });
}

/**
 * A forward proxy (what @actions/http-client's tunnel speaks): every CONNECT lands on this same server, which
 * then plays every publisher's host. Returns the open sockets, for close().
 */
function acceptTunnels(
  server: http.Server,
  self: { host: string; port: number },
  proxyConnects: string[],
): Set<net.Socket> {
  const tunnels = new Set<net.Socket>();
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    proxyConnects.push(req.url ?? '');
    const upstream = net.connect(self.port, self.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).on('error', () => client.destroy());
      client.pipe(upstream).on('error', () => upstream.destroy());
    });
    for (const socket of [client, upstream]) {
      tunnels.add(socket);
      socket.on('error', () => socket.destroy()).on('close', () => tunnels.delete(socket));
    }
  });
  return tunnels;
}

/** Yields each chunk no sooner than the given rate allows. */
async function* throttled(source: AsyncIterable<Buffer>, bytesPerSecond: number): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield chunk;
    await new Promise((resolveWait) => setTimeout(resolveWait, (chunk.length / bytesPerSecond) * 1000));
  }
}

interface Body {
  file?: string;
  text?: string;
  type?: string;
}

/** Official layouts at the root; `/mirror/<tool>/...` holds the same files (gcloud's without `downloads/`). */
function routeOf(pathname: string): { tool: Tool; rest: string; mirrored: boolean } | undefined {
  const mirror = /^\/mirror\/(kubectl|helm|gcloud)(\/.*)$/.exec(pathname);
  if (mirror) return { tool: mirror[1] as Tool, rest: mirror[2]!, mirrored: true };
  if (pathname.startsWith('/release/')) return { tool: 'kubectl', rest: pathname, mirrored: false };
  if (/^\/helm-/.test(pathname)) return { tool: 'helm', rest: pathname, mirrored: false };
  const gcloud = /^\/dl\/cloudsdk\/channels\/rapid(\/.*)$/.exec(pathname);
  if (gcloud) return { tool: 'gcloud', rest: gcloud[1]!, mirrored: false };
  return undefined;
}

function newestOn(versions: string[], prefix: string): string | undefined {
  const stable = versions.filter((v) => v.startsWith(prefix) && /^\d+\.\d+\.\d+$/.test(v));
  return stable.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))[0];
}

const digests = new Map<string, Promise<string>>();
function sha256(file: string): Promise<string> {
  let found = digests.get(file);
  if (!found) {
    found = new Promise((resolveHash, reject) => {
      const hash = crypto.createHash('sha256');
      fs.createReadStream(file)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolveHash(hash.digest('hex')))
        .on('error', reject);
    });
    digests.set(file, found);
  }
  return found;
}

/** helm-vX-<os>-<arch>.tar.gz holds <os>-<arch>/helm; the bytes do not depend on X, so one build serves all. */
function buildHelmArchive(helmBinary: string, flavour: HelmFlavour, osName: SiteOs, arch: SiteArch): string {
  const name = `helm-${flavour}-${osName}-${arch}.tar.gz`;
  // Built archives are shared by every test process (same inputs, same bytes), like the extracted binaries.
  const archiveCache = cacheDir('downloads', (dir) => fs.existsSync(path.join(dir, name)));
  const target = path.join(archiveCache, name);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(archiveCache, { recursive: true });
  const staging = fs.mkdtempSync(`${target}.staging-`);
  try {
    const dir = path.join(staging, `${osName}-${arch}`);
    fs.mkdirSync(dir);
    fs.copyFileSync(helmBinary, path.join(dir, 'helm'));
    fs.chmodSync(path.join(dir, 'helm'), 0o755);
    const archive = path.join(staging, 'archive.tar.gz');
    // gzip -1: the test only needs a real gzip, not the smallest one.
    execFileSync('tar', [
      '--use-compress-program=gzip -1',
      '-cf',
      archive,
      '-C',
      staging,
      `${osName}-${arch}`,
    ]);
    // Several test processes may build at once: same bytes, so whichever rename lands last is fine.
    fs.renameSync(archive, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/** google-cloud-sdk/bin/gcloud: a shell script answering what the installer asks of the real gcloud. */
function buildGcloudArchive(work: string, version: string): string {
  const root = path.join(work, `gcloud-${version}`);
  const bin = path.join(root, 'google-cloud-sdk', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'gcloud'), gcloudScript(version), { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'google-cloud-sdk', 'VERSION'), `${version}\n`);
  const archive = path.join(work, `google-cloud-cli-${version}.tar.gz`);
  execFileSync('tar', ['-czf', archive, '-C', root, 'google-cloud-sdk']);
  return archive;
}

function gcloudScript(version: string): string {
  return `#!/bin/sh
# The download-site stand-in's gcloud ${version}: 'version' and 'components install gke-gcloud-auth-plugin' only.
bin=$(cd "$(dirname "$0")" && pwd)
case "$1" in
  version|--version)
    if [ "$2" = "--format=json" ]; then
      printf '{"Google Cloud SDK": "%s", "core": "2025.11.01"}\\n' "${version}"
    else
      printf 'Google Cloud SDK %s\\n' "${version}"
    fi ;;
  components)
    if [ "$2" != install ] || [ "$3" != gke-gcloud-auth-plugin ]; then
      echo "ERROR: the stand-in gcloud only installs gke-gcloud-auth-plugin" >&2; exit 1
    fi
    # Like the real component manager, read the snapshot it was pointed at (a mirror in air-gapped runs).
    if [ -n "$CLOUDSDK_COMPONENT_MANAGER_SNAPSHOT_URL" ]; then
      node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \\
        "$CLOUDSDK_COMPONENT_MANAGER_SNAPSHOT_URL" || { echo "ERROR: cannot read $CLOUDSDK_COMPONENT_MANAGER_SNAPSHOT_URL" >&2; exit 1; }
    fi
    printf '#!/bin/sh\\necho "Kubernetes v1.33.0-alpha+gke-gcloud-auth-plugin"\\n' > "$bin/gke-gcloud-auth-plugin"
    chmod +x "$bin/gke-gcloud-auth-plugin"
    echo "Installed gke-gcloud-auth-plugin" >&2 ;;
  *)
    echo "ERROR: the stand-in gcloud does not implement: $*" >&2; exit 2 ;;
esac
`;
}

/** The rapid channel's components-2.json: the top-level `version` is what `latest` reads. */
function componentsSnapshot(version: string): string {
  return `${JSON.stringify(
    {
      version,
      revision: 20251101000000,
      components: [{ id: 'gke-gcloud-auth-plugin', version: { version_string: '0.5.10' }, platform: {} }],
    },
    null,
    2,
  )}\n`;
}
