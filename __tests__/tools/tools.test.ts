import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import * as tc from '@actions/tool-cache';
import { Deadline } from '../../src/lib/deadline.js';
import { describeError } from '../../src/lib/errors.js';
import { parseToolRequests, type ToolInputs } from '../../src/config/tools.js';
import { gcloud } from '../../src/tools/gcloud.js';
import { helm } from '../../src/tools/helm.js';
import { installTools, type InstallToolsOptions, type ToolRequests } from '../../src/tools/index.js';
import { kubectl } from '../../src/tools/kubectl.js';
import { resolveVersion } from '../../src/tools/resolve.js';
import { siteFor, type ToolSpec } from '../../src/tools/types.js';
import { parseVersionRequest } from '../../src/tools/version.js';
import { realBinaries } from '../../standins/binaries.js';
import { startDownloadSite, type DownloadSite } from '../../standins/downloads.js';

let site: DownloadSite;
let dirs: string[] = [];
let savedEnv: Record<string, string | undefined> = {};

before(async () => {
  site = await startDownloadSite();
});
after(async () => {
  await site.close();
});

// Each test gets its own tool cache and temp dir (tool-cache reads them per call), and PATH back afterwards.
beforeEach(() => {
  savedEnv = {
    PATH: process.env.PATH,
    RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE,
    RUNNER_TEMP: process.env.RUNNER_TEMP,
  };
  process.env.RUNNER_TOOL_CACHE = tempDir('cache');
  process.env.RUNNER_TEMP = tempDir('temp');
  site.reset();
});
afterEach(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) Reflect.deleteProperty(process.env, key);
    else process.env[key] = value;
  }
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `skyha-tools-${label}-`));
  dirs.push(dir);
  return dir;
}

/** The tool inputs as a step would give them, parsed as the action parses them; a `cluster` needs gcloud. */
function versions(partial: Partial<ToolInputs> = {}, needGcloud = partial.gcloud !== 'none'): ToolRequests {
  return parseToolRequests({ helm: '3.17.3', kubectl: '1.35.2', gcloud: '548.0.0', ...partial }, needGcloud);
}

function options(partial: Partial<InstallToolsOptions> = {}): InstallToolsOptions {
  return {
    deadline: new Deadline(120_000),
    platform: { os: 'linux', arch: 'x64' },
    searchPath: '',
    bases: site.bases,
    ...partial,
  };
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return describeError(error);
  }
  assert.fail('expected a failure');
}

describe('installTools against the download-site stand-in', () => {
  test('a cold install downloads, verifies and runs the real helm and kubectl, and gcloud with its auth plugin', async () => {
    const tools = await installTools(versions(), options());

    assert.equal(tools.kubectl.source, 'download');
    assert.equal(tools.helm.source, 'download');
    assert.equal(tools.gcloud?.source, 'download');
    const kubectlOut = execFileSync(tools.kubectl.binary, ['version', '--client'], { encoding: 'utf8' });
    assert.match(kubectlOut, /Client Version: v1\.35\.2/);
    const helmOut = execFileSync(tools.helm.binary, ['version'], { encoding: 'utf8' });
    assert.match(helmOut, /Version:"v3\.17\.3"/);
    assert.ok(
      tools.kubectl.binary.startsWith(process.env.RUNNER_TOOL_CACHE!),
      'kubectl lives in the tool cache',
    );
    assert.ok(
      fs.existsSync(path.join(tools.gcloud!.dir, 'gke-gcloud-auth-plugin')),
      'the auth plugin was installed',
    );
    assert.equal(tools.gcloud!.binary, path.join(tools.gcloud!.dir, 'gcloud'));
    for (const tool of [tools.helm, tools.kubectl, tools.gcloud!]) {
      assert.ok(process.env.PATH!.split(path.delimiter).includes(tool.dir), `${tool.name} is on PATH`);
    }
    assert.deepEqual(
      site
        .downloads()
        .map((r) => r.path)
        .sort(),
      [
        '/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-548.0.0-linux-x86_64.tar.gz',
        '/helm-v3.17.3-linux-amd64.tar.gz',
        '/release/v1.35.2/bin/linux/amd64/kubectl',
      ],
    );
    // Exact versions need no version file; the checksums come from beside the downloads.
    assert.ok(site.requests.some((r) => r.path === '/helm-v3.17.3-linux-amd64.tar.gz.sha256sum'));
    assert.ok(site.requests.some((r) => r.path === '/release/v1.35.2/bin/linux/amd64/kubectl.sha256'));
    assert.ok(!site.requests.some((r) => /stable|latest/.test(r.path)));
  });

  test('a second run takes all three from the tool cache and makes no request at all', async () => {
    await installTools(versions(), options());
    site.clearLog();
    const tools = await installTools(versions(), options());
    assert.deepEqual(site.requests, []);
    assert.deepEqual(
      [tools.helm.source, tools.kubectl.source, tools.gcloud?.source],
      ['cache', 'cache', 'cache'],
    );
    assert.match(
      execFileSync(tools.kubectl.binary, ['version', '--client'], { encoding: 'utf8' }),
      /v1\.35\.2/,
    );
  });

  test('a tampered archive is refused with both hashes, and nothing is cached', async () => {
    site.tamper('/helm-v3.17.3-linux-amd64.tar.gz');
    const message = await rejection(installTools(versions({ helm: '3.17.3' }, false), options()));
    assert.match(
      message,
      /Checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/helm-v3\.17\.3-linux-amd64\.tar\.gz/,
    );
    assert.match(message, /expected SHA-256 [0-9a-f]{64} \(from .*\.sha256sum\), got [0-9a-f]{64}/);
    assert.equal(tc.find('helm', '3.17.3', 'x64'), '');
    assert.deepEqual(fs.readdirSync(process.env.RUNNER_TEMP!), [], 'the download was deleted');
  });

  test('a pinned gcloud-sha256 verifies the gcloud archive, and a wrong one refuses it', async () => {
    const wrong = 'a'.repeat(64);
    const message = await rejection(installTools(versions({ gcloudSha256: wrong }), options()));
    assert.match(
      message,
      new RegExp(`expected SHA-256 ${wrong} \\(from the pinned gcloud-sha256\\), got ([0-9a-f]{64})`),
    );
    assert.equal(tc.find('gcloud', '548.0.0', 'x64'), '');
    const actual = /got ([0-9a-f]{64})/.exec(message)![1]!;
    const tools = await installTools(versions({ gcloudSha256: `sha256:${actual.toUpperCase()}` }), options());
    assert.equal(tools.gcloud?.source, 'download');
  });

  test('an unknown version is reported with the tool, the URL and the status', async () => {
    const message = await rejection(installTools(versions({ kubectl: '1.99.0' }, false), options()));
    assert.match(message, /kubectl 1\.99\.0 for linux\/amd64 is not published/);
    assert.match(
      message,
      /GET http:\/\/127\.0\.0\.1:\d+\/release\/v1\.99\.0\/bin\/linux\/amd64\/kubectl\.sha256 returned HTTP 404/,
    );
    const unresolved = await rejection(installTools(versions({ kubectl: '1.99' }, false), options()));
    assert.match(
      unresolved,
      /Could not resolve kubectl-version '1\.99'.*release\/stable-1\.99\.txt returned HTTP 404/,
    );
  });

  test("latest and major.minor resolve through the publishers' files and install", async () => {
    const tools = await installTools(
      versions({ kubectl: 'latest', helm: '3.17', gcloud: 'latest' }),
      options(),
    );
    assert.equal(tools.kubectl.version, '1.35.2');
    assert.equal(tools.helm.version, '3.17.3');
    assert.equal(tools.gcloud?.version, '549.0.1');
    assert.match(execFileSync(tools.helm.binary, ['version', '--short'], { encoding: 'utf8' }), /^v3\.17\.3/);
    const paths = site.requests.map((r) => r.path);
    assert.ok(paths.includes('/release/stable.txt'));
    assert.ok(paths.includes('/dl/cloudsdk/channels/rapid/components-2.json'));
    // 3.17.0 .. 3.17.3 exist, 3.17.4 does not: the probe stops there.
    assert.ok(paths.includes('/helm-v3.17.4-linux-amd64.tar.gz.sha256sum'));
  });

  test('a mirror under a sub-path serves everything, including the gcloud component snapshot', async () => {
    const tools = await installTools(
      versions({ mirror: site.mirror, kubectl: '1.31', helm: '3.17.3' }),
      options({ bases: {} }),
    );
    assert.equal(tools.kubectl.version, '1.31.9');
    assert.match(
      execFileSync(tools.kubectl.binary, ['version', '--client'], { encoding: 'utf8' }),
      /v1\.31\.9/,
    );
    assert.ok(site.requests.length > 0);
    for (const request of site.requests) assert.match(request.path, /^\/mirror\/(helm|kubectl|gcloud)\//);
    const paths = site.requests.map((r) => r.path);
    assert.ok(paths.includes('/mirror/kubectl/release/stable-1.31.txt'));
    assert.ok(paths.includes('/mirror/gcloud/google-cloud-cli-548.0.0-linux-x86_64.tar.gz'));
    assert.ok(
      paths.includes('/mirror/gcloud/components-2.json'),
      'gcloud components install read the mirror',
    );
  });

  test('a transient 503 is retried', async () => {
    site.failNext('/release/v1.35.2/bin/linux/amd64/kubectl', 2);
    const tools = await installTools(versions({}, false), options({ bases: site.bases }));
    assert.equal(tools.kubectl.source, 'download');
    const attempts = site.requests.filter((r) => r.path === '/release/v1.35.2/bin/linux/amd64/kubectl');
    assert.deepEqual(
      attempts.map((r) => r.status),
      [503, 503, 200],
    );
  });

  test('a download that never stalls but never ends either stops at the deadline, naming it; nothing is cached', async () => {
    // 256 KiB every quarter of a second: the socket is never idle, and the archives take far longer than the run.
    const slow = await startDownloadSite({ bytesPerSecond: 1024 * 1024 });
    try {
      const message = await rejection(
        installTools(
          versions({ gcloud: 'none' }, false),
          options({ bases: slow.bases, deadline: new Deadline(3000) }),
        ),
      );
      assert.match(
        message,
        /download of http:\/\/[^ ]+ ran out of time during step [a-z]+: the run's timeout was used up/,
      );
      assert.equal(tc.find('kubectl', '1.35.2'), '');
      assert.equal(tc.find('helm', '3.17.3'), '');
      assert.deepEqual(fs.readdirSync(process.env.RUNNER_TEMP!), [], 'the partial download is gone');
    } finally {
      await slow.close();
    }
  });

  test('HTTP_PROXY is honoured: every request goes through the proxy', async () => {
    // The stand-in doubles as the proxy; the publishers get a non-loopback name so the client does not bypass it.
    for (const key of ['http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY']) savedEnv[key] = process.env[key];
    for (const key of ['no_proxy', 'NO_PROXY', 'HTTP_PROXY']) Reflect.deleteProperty(process.env, key);
    process.env.http_proxy = site.origin;
    const publisher = 'http://downloads.example';
    const tools = await installTools(
      versions({ kubectl: 'latest', gcloud: 'none' }),
      options({ bases: { kubectl: publisher, helm: publisher } }),
    );
    assert.equal(tools.kubectl.version, '1.35.2');
    assert.ok(site.proxyConnects.length >= 4, `tunnels: ${site.proxyConnects.join(', ')}`);
    assert.ok(site.proxyConnects.every((target) => target === 'downloads.example:80'));
    assert.ok(site.requests.some((r) => r.path === '/release/stable.txt'));
  });

  test('arm64 and darwin platforms, handed in, fetch their own files', async () => {
    await installTools(versions(), options({ platform: { os: 'linux', arch: 'arm64' } }));
    await installTools(versions({}, false), options({ platform: { os: 'darwin', arch: 'arm64' } }));
    const paths = site.downloads().map((r) => r.path);
    assert.ok(paths.includes('/release/v1.35.2/bin/linux/arm64/kubectl'));
    assert.ok(paths.includes('/helm-v3.17.3-linux-arm64.tar.gz'));
    assert.ok(
      paths.includes('/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-548.0.0-linux-arm.tar.gz'),
    );
    assert.ok(!paths.some((p) => /amd64|x86_64/.test(p)));
    // The cache is keyed by architecture: linux and darwin arm64 share it, so darwin reused kubectl and helm.
    assert.ok(tc.find('kubectl', '1.35.2', 'arm64'));
    assert.equal(tc.find('kubectl', '1.35.2', 'x64'), '');
  });

  test('a mirror that serves a mislabelled binary is refused and nothing is cached', async () => {
    // The stand-in's 3.19.0 exists (so latest can be resolved) but holds helm 3.17.3.
    const message = await rejection(installTools(versions({ helm: '3.19.0' }, false), options()));
    assert.match(message, /holds a helm that reports version 3\.17\.3, not 3\.19\.0/);
    assert.equal(tc.find('helm', '3.19.0', 'x64'), '');
  });

  test('a tool already on PATH at the asked version is used as is; gcloud on PATH when no version was asked', async () => {
    const bin = tempDir('path');
    const real = await realBinaries('helm4');
    fs.symlinkSync(real.kubectl, path.join(bin, 'kubectl'));
    fs.writeFileSync(path.join(bin, 'gcloud'), '#!/bin/sh\necho \'{"Google Cloud SDK": "500.0.0"}\'\n', {
      mode: 0o755,
    });
    fs.writeFileSync(path.join(bin, 'gke-gcloud-auth-plugin'), '#!/bin/sh\n', { mode: 0o755 });
    const tools = await installTools(versions({ gcloud: 'default' }), options({ searchPath: bin }));
    assert.equal(tools.kubectl.source, 'path');
    assert.equal(tools.kubectl.binary, path.join(bin, 'kubectl'));
    assert.deepEqual([tools.gcloud?.source, tools.gcloud?.version], ['path', '500.0.0']);
    assert.equal(tools.helm.source, 'download');
    assert.deepEqual(
      site.downloads().map((r) => r.path),
      ['/helm-v3.17.3-linux-amd64.tar.gz'],
    );
    // An exact kubectl that differs from PATH's is downloaded.
    const other = await installTools(
      versions({ kubectl: '1.31.9', gcloud: 'none' }),
      options({ searchPath: bin }),
    );
    assert.equal(other.kubectl.source, 'download');
    assert.equal(other.gcloud, undefined);
  });

  test('a packaged gcloud on PATH that cannot install the auth plugin is replaced by the pinned download', async () => {
    const bin = tempDir('path');
    const script = [
      '#!/bin/sh',
      'case "$1" in',
      '  version) echo \'{"Google Cloud SDK": "528.0.0"}\' ;;',
      '  *) echo "ERROR: (gcloud.components.install) The component manager is disabled for this installation" >&2; exit 1 ;;',
      'esac',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(bin, 'gcloud'), script, { mode: 0o755 });
    const tools = await installTools(versions({ gcloud: 'default' }), options({ searchPath: bin }));
    assert.deepEqual([tools.gcloud?.source, tools.gcloud?.version], ['download', '548.0.0']);
    assert.ok(fs.existsSync(path.join(tools.gcloud!.dir, 'gke-gcloud-auth-plugin')));
  });

  test('gcloud is skipped for none, and when no cluster needs it and no version was asked', async () => {
    const none = await installTools(versions({ gcloud: 'none' }), options());
    assert.equal(none.gcloud, undefined);
    const unneeded = await installTools(versions({ gcloud: 'default' }, false), options());
    assert.equal(unneeded.gcloud, undefined);
    assert.ok(!site.requests.some((r) => r.path.includes('cloudsdk')));
  });
});

describe('resolveVersion against the download-site stand-in', () => {
  const cases: [ToolSpec, string, string][] = [
    // helm-latest-version says v4.1.4: latest stays on the default's major 3 and probes from 3.19.0.
    [helm, 'latest', '3.19.1'],
    [helm, '4', '4.1.4'],
    [helm, '3.17', '3.17.3'],
    [helm, 'v3', '3.19.1'],
    [kubectl, 'latest', '1.35.2'],
    [kubectl, '1.31', '1.31.9'],
    [kubectl, '1', '1.35.2'],
    [gcloud, 'latest', '549.0.1'],
    [gcloud, '549', '549.0.1'],
    [gcloud, '548.0', '548.0.0'],
  ];
  for (const [spec, raw, expected] of cases) {
    test(`${spec.name} ${raw} -> ${expected}`, async () => {
      const request = parseVersionRequest(`${spec.name}-version`, raw, spec.defaultVersion);
      assert.notEqual(request.kind, 'exact');
      if (request.kind === 'exact') return;
      const version = await resolveVersion(
        spec,
        request,
        { os: 'linux', arch: 'x64' },
        siteFor(spec, undefined, site.bases[spec.name]),
        new Deadline(30_000),
      );
      assert.equal(version, expected);
    });
  }

  test('a lookup that names a pre-release or another major is never taken silently', async () => {
    const other = await startDownloadSite({ kubectlStable: '2.0.0', helmLatest: '3.20.0-rc.1' });
    try {
      const kube = await rejection(
        resolveVersion(
          kubectl,
          { kind: 'latest' },
          { os: 'linux', arch: 'x64' },
          siteFor(kubectl, undefined, other.bases.kubectl),
          new Deadline(30_000),
        ),
      );
      assert.match(kube, /stable\.txt names 2\.0\.0, which is not on 1\.x/);
      const helmLatest = await resolveVersion(
        helm,
        { kind: 'latest' },
        { os: 'linux', arch: 'x64' },
        siteFor(helm, undefined, other.bases.helm),
        new Deadline(30_000),
      );
      assert.equal(helmLatest, '3.19.1', 'the pre-release was skipped and the newest 3.x probed');
    } finally {
      await other.close();
    }
  });

  test('a probe whose starting release is missing fails with the URL', async () => {
    const message = await rejection(
      resolveVersion(
        helm,
        { kind: 'major', major: 5 },
        { os: 'linux', arch: 'x64' },
        siteFor(helm, undefined, site.bases.helm),
        new Deadline(30_000),
      ),
    );
    assert.match(
      message,
      /Could not resolve helm-version '5'.*helm 5\.0\.0 is not published: GET http:\/\/127\.0\.0\.1:\d+\/helm-v5\.0\.0-linux-amd64\.tar\.gz\.sha256sum/,
    );
  });
});
