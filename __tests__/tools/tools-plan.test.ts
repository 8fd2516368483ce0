import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseChecksumFile, parsePinnedSha256 } from '../../src/tools/checksum.js';
import { isTransientHttpError, HttpStatusError } from '../../src/tools/fetch.js';
import { gcloud } from '../../src/tools/gcloud.js';
import { helm } from '../../src/tools/helm.js';
import { DEFAULT_VERSIONS } from '../../src/tools/index.js';
import { kubectl } from '../../src/tools/kubectl.js';
import { currentPlatform, type Platform } from '../../src/tools/platform.js';
import { parseLookup } from '../../src/tools/resolve.js';
import { siteFor, type ToolSpec } from '../../src/tools/types.js';
import { cleanVersion, parseVersionRequest, type VersionRequest } from '../../src/tools/version.js';

const linuxX64: Platform = { os: 'linux', arch: 'x64' };
const linuxArm: Platform = { os: 'linux', arch: 'arm64' };
const darwinX64: Platform = { os: 'darwin', arch: 'x64' };
const darwinArm: Platform = { os: 'darwin', arch: 'arm64' };
const MIRROR = 'https://mirror.example.com/tools';

describe('download URLs per tool, platform and mirror', () => {
  const cases: [ToolSpec, string, Platform, string | undefined, string, string | undefined][] = [
    [
      kubectl,
      '1.35.2',
      linuxX64,
      undefined,
      'https://dl.k8s.io/release/v1.35.2/bin/linux/amd64/kubectl',
      'https://dl.k8s.io/release/v1.35.2/bin/linux/amd64/kubectl.sha256',
    ],
    [
      kubectl,
      '1.35.2',
      linuxArm,
      undefined,
      'https://dl.k8s.io/release/v1.35.2/bin/linux/arm64/kubectl',
      'https://dl.k8s.io/release/v1.35.2/bin/linux/arm64/kubectl.sha256',
    ],
    [
      kubectl,
      '1.31.9',
      darwinArm,
      undefined,
      'https://dl.k8s.io/release/v1.31.9/bin/darwin/arm64/kubectl',
      'https://dl.k8s.io/release/v1.31.9/bin/darwin/arm64/kubectl.sha256',
    ],
    [
      kubectl,
      '1.35.2',
      linuxX64,
      MIRROR,
      `${MIRROR}/kubectl/release/v1.35.2/bin/linux/amd64/kubectl`,
      `${MIRROR}/kubectl/release/v1.35.2/bin/linux/amd64/kubectl.sha256`,
    ],
    [
      helm,
      '3.19.0',
      linuxX64,
      undefined,
      'https://get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz',
      'https://get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz.sha256sum',
    ],
    [
      helm,
      '3.19.0',
      linuxArm,
      undefined,
      'https://get.helm.sh/helm-v3.19.0-linux-arm64.tar.gz',
      'https://get.helm.sh/helm-v3.19.0-linux-arm64.tar.gz.sha256sum',
    ],
    [
      helm,
      '4.1.4',
      darwinX64,
      undefined,
      'https://get.helm.sh/helm-v4.1.4-darwin-amd64.tar.gz',
      'https://get.helm.sh/helm-v4.1.4-darwin-amd64.tar.gz.sha256sum',
    ],
    [
      helm,
      '3.19.0',
      linuxX64,
      `${MIRROR}/`,
      `${MIRROR}/helm/helm-v3.19.0-linux-amd64.tar.gz`,
      `${MIRROR}/helm/helm-v3.19.0-linux-amd64.tar.gz.sha256sum`,
    ],
    [
      gcloud,
      '548.0.0',
      linuxX64,
      undefined,
      'https://dl.google.com/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-548.0.0-linux-x86_64.tar.gz',
      undefined,
    ],
    [
      gcloud,
      '548.0.0',
      linuxArm,
      undefined,
      'https://dl.google.com/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-548.0.0-linux-arm.tar.gz',
      undefined,
    ],
    [
      gcloud,
      '548.0.0',
      darwinArm,
      undefined,
      'https://dl.google.com/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-548.0.0-darwin-arm.tar.gz',
      undefined,
    ],
    [
      gcloud,
      '548.0.0',
      darwinX64,
      MIRROR,
      `${MIRROR}/gcloud/google-cloud-cli-548.0.0-darwin-x86_64.tar.gz`,
      undefined,
    ],
  ];
  for (const [spec, version, platform, mirror, url, checksum] of cases) {
    test(`${spec.name} ${version} ${platform.os}/${platform.arch}${mirror ? ' (mirror)' : ''}`, () => {
      const site = siteFor(spec, mirror);
      assert.equal(spec.downloadUrl(version, platform, site), url);
      assert.equal(spec.checksumUrl(version, platform, site), checksum);
    });
  }

  test('archive layouts: what is cached, and where the binary sits in it', () => {
    assert.equal(helm.packageRoot(linuxArm), 'linux-arm64');
    assert.equal(helm.packageRoot(darwinX64), 'darwin-amd64');
    assert.equal(gcloud.packageRoot(linuxX64), 'google-cloud-sdk');
    assert.deepEqual([gcloud.binary, gcloud.binDir], ['bin/gcloud', 'bin']);
    assert.deepEqual([kubectl.archive, helm.archive, gcloud.archive], ['binary', 'tar.gz', 'tar.gz']);
  });

  test('the pinned defaults are written once, in the tool modules', () => {
    assert.deepEqual(DEFAULT_VERSIONS, { helm: '3.19.0', kubectl: '1.35.2', gcloud: '548.0.0' });
  });
});

describe('version grammar', () => {
  const cases: [string, VersionRequest][] = [
    ['default', { kind: 'exact', version: '3.19.0', pinned: true }],
    ['', { kind: 'exact', version: '3.19.0', pinned: true }],
    ['latest', { kind: 'latest' }],
    ['3.17.3', { kind: 'exact', version: '3.17.3', pinned: false }],
    ['v3.17.3', { kind: 'exact', version: '3.17.3', pinned: false }],
    ['1.36.0-rc.1', { kind: 'exact', version: '1.36.0-rc.1', pinned: false }],
    ['3.17', { kind: 'minor', major: 3, minor: 17 }],
    ['v1.35', { kind: 'minor', major: 1, minor: 35 }],
    ['4', { kind: 'major', major: 4 }],
  ];
  for (const [raw, expected] of cases) {
    test(`'${raw}'`, () => assert.deepEqual(parseVersionRequest('helm-version', raw, '3.19.0'), expected));
  }
  for (const raw of ['stable', '3.x', '1.2.3.4', '-1', 'v', '3.17-rc']) {
    test(`'${raw}' is refused naming the input`, () => {
      assert.throws(
        () => parseVersionRequest('helm-version', raw, '3.19.0'),
        /Input 'helm-version': '.*' is not a version/,
      );
    });
  }
});

describe('how each request is resolved (the plan, before any request)', () => {
  const site = (spec: ToolSpec): ReturnType<typeof siteFor> => siteFor(spec, undefined);

  test('helm latest stays on the default major 3: helm-latest-version if it is 3.x, else probe from 3.19.0', () => {
    const plan = helm.resolution({ kind: 'latest' }, linuxX64, site(helm));
    assert.equal(plan.lookup?.url, 'https://get.helm.sh/helm-latest-version');
    assert.deepEqual(plan.line, { major: 3 });
    assert.equal(plan.probe?.start, '3.19.0');
    assert.equal(plan.probe?.bumpMinor, true);
    assert.equal(plan.probe?.url('3.20.0'), 'https://get.helm.sh/helm-v3.20.0-linux-amd64.tar.gz.sha256sum');
    assert.match(plan.rule, /ask for '4' to cross majors/);
  });

  test('helm 4 crosses the major on purpose and probes from 4.0.0 if needed', () => {
    const plan = helm.resolution({ kind: 'major', major: 4 }, linuxArm, site(helm));
    assert.deepEqual(plan.line, { major: 4 });
    assert.equal(plan.probe?.start, '4.0.0');
    assert.equal(plan.probe?.url('4.0.0'), 'https://get.helm.sh/helm-v4.0.0-linux-arm64.tar.gz.sha256sum');
  });

  test('helm 3.17 probes patches only', () => {
    const plan = helm.resolution({ kind: 'minor', major: 3, minor: 17 }, linuxX64, site(helm));
    assert.equal(plan.lookup, undefined);
    assert.deepEqual([plan.probe?.start, plan.probe?.bumpMinor], ['3.17.0', false]);
  });

  test('kubectl uses dl.k8s.io stable files, with no probing', () => {
    const latest = kubectl.resolution({ kind: 'latest' }, linuxX64, site(kubectl));
    assert.deepEqual(
      [latest.lookup?.url, latest.line, latest.probe],
      ['https://dl.k8s.io/release/stable.txt', { major: 1 }, undefined],
    );
    const minor = kubectl.resolution(
      { kind: 'minor', major: 1, minor: 31 },
      linuxX64,
      siteFor(kubectl, MIRROR),
    );
    assert.equal(minor.lookup?.url, `${MIRROR}/kubectl/release/stable-1.31.txt`);
    assert.deepEqual(minor.line, { major: 1, minor: 31 });
  });

  test("gcloud latest reads the rapid channel's components-2.json; a major probes the archives with HEAD", () => {
    const latest = gcloud.resolution({ kind: 'latest' }, linuxX64, site(gcloud));
    assert.deepEqual(latest.lookup, {
      url: 'https://dl.google.com/dl/cloudsdk/channels/rapid/components-2.json',
      format: 'json-version',
    });
    assert.equal(
      gcloud.resolution({ kind: 'latest' }, linuxX64, siteFor(gcloud, MIRROR)).lookup?.url,
      `${MIRROR}/gcloud/components-2.json`,
    );
    const major = gcloud.resolution({ kind: 'major', major: 549 }, linuxArm, site(gcloud));
    assert.deepEqual(
      [major.probe?.start, major.probe?.method, major.probe?.bumpMinor],
      ['549.0.0', 'HEAD', true],
    );
    assert.equal(
      major.probe?.url('549.0.1'),
      'https://dl.google.com/dl/cloudsdk/channels/rapid/downloads/google-cloud-cli-549.0.1-linux-arm.tar.gz',
    );
  });
});

describe('publisher files', () => {
  const HEX = 'ab'.repeat(32);
  test('kubectl .sha256: a bare digest', () => {
    assert.equal(parseChecksumFile(`${HEX}\n`, 'kubectl', 'u'), HEX);
    assert.equal(parseChecksumFile(HEX.toUpperCase(), 'kubectl', 'u'), HEX);
  });
  test('helm .sha256sum: the line must name the archive', () => {
    const file = 'helm-v3.19.0-linux-amd64.tar.gz';
    assert.equal(parseChecksumFile(`${HEX}  ${file}\n`, file, 'u'), HEX);
    assert.equal(parseChecksumFile(`${HEX} *${file}`, file, 'u'), HEX);
    assert.equal(parseChecksumFile(`${'cd'.repeat(32)}  other.tar.gz\n${HEX}  dist/${file}`, file, 'u'), HEX);
    assert.throws(
      () => parseChecksumFile(`${HEX}  helm-v3.18.0-linux-amd64.tar.gz`, file, 'URL'),
      /URL has no SHA-256 for helm-v3\.19\.0/,
    );
    assert.throws(() => parseChecksumFile('<html>not found</html>', file, 'URL'), /no SHA-256/);
  });
  test('a pinned gcloud-sha256', () => {
    assert.equal(parsePinnedSha256('gcloud-sha256', ` sha256:${HEX.toUpperCase()} `), HEX);
    assert.throws(
      () => parsePinnedSha256('gcloud-sha256', 'abc'),
      /Input 'gcloud-sha256': 'abc' is not a SHA-256 digest/,
    );
  });
  test('version files', () => {
    assert.equal(parseLookup('v1.35.2\n', 'text', 'u'), '1.35.2');
    assert.equal(parseLookup('{"version": "548.0.0", "components": []}', 'json-version', 'u'), '548.0.0');
    assert.equal(parseLookup('v4.0.0-rc.1', 'text', 'u'), '4.0.0-rc.1');
    assert.throws(() => parseLookup('<html>', 'text', 'URL'), /URL does not name a version/);
    assert.throws(() => parseLookup('{}', 'json-version', 'URL'), /URL does not name a version/);
    assert.throws(() => parseLookup('nope', 'json-version', 'URL'), /URL is not JSON/);
  });
  test('what the tools print about their version', () => {
    assert.equal(helm.parseVersion('v3.17.3+ge4da497\n'), '3.17.3');
    assert.equal(
      kubectl.parseVersion('{"clientVersion": {"gitVersion": "v1.35.2"}, "kustomizeVersion": "v5"}'),
      '1.35.2',
    );
    assert.equal(kubectl.parseVersion('error: unknown flag'), undefined);
    assert.equal(gcloud.parseVersion('{"Google Cloud SDK": "548.0.0", "core": "2025.11.01"}'), '548.0.0');
    assert.equal(cleanVersion('Client Version: v1.31.9'), '1.31.9');
  });
});

describe('platforms and transient failures', () => {
  test('linux and darwin on x64 and arm64; anything else is a clear error', () => {
    assert.deepEqual(currentPlatform('linux', 'x64'), linuxX64);
    assert.deepEqual(currentPlatform('darwin', 'arm64'), darwinArm);
    assert.throws(() => currentPlatform('win32', 'x64'), /Unsupported runner OS 'win32'/);
    assert.throws(() => currentPlatform('linux', 'ia32'), /Unsupported runner architecture 'ia32'/);
  });
  test('429 and 5xx and dropped connections are retried; 404 is an answer', () => {
    assert.equal(isTransientHttpError(new HttpStatusError('u', 503)), true);
    assert.equal(isTransientHttpError(new HttpStatusError('u', 429)), true);
    assert.equal(isTransientHttpError(new HttpStatusError('u', 404)), false);
    assert.equal(isTransientHttpError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransientHttpError(new Error('something else')), false);
  });
});
