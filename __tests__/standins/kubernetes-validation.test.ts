import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { helmFlavours, realBinaries } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { api, runTool, toolsFor, type Obj } from '../support/kubeTools.js';

const dns1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const subdomain =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelValue =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const long64 = `sky-${'a'.repeat(60)}`;

function service(name: string, labels: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { ports: [{ name: 'http', port: 80 }] },
  };
}

describe('kubernetes stand-in: object validation as the API server words it (422 Invalid)', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn();
  });
  after(() => kube.close());

  test('a Service name is a DNS-1035 label of at most 63 characters', async () => {
    const tooLong = await api(kube, 'POST', '/api/v1/namespaces/default/services', service(long64));
    assert.equal(tooLong.status, 422);
    assert.deepEqual(tooLong.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Service "${long64}" is invalid: metadata.name: Invalid value: "${long64}": must be no more than 63 characters`,
      reason: 'Invalid',
      details: {
        name: long64,
        kind: 'Service',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${long64}": must be no more than 63 characters`,
            field: 'metadata.name',
          },
        ],
      },
      code: 422,
    });
    const digit = await api(kube, 'POST', '/api/v1/namespaces/default/services', service('1sky'));
    assert.equal(
      digit.body.message,
      `Service "1sky" is invalid: metadata.name: Invalid value: "1sky": ${dns1035}`,
    );
    assert.equal(kube.get('v1', 'Service', 'default', long64.slice(0, 63)), undefined);
    const fits = await api(kube, 'POST', '/api/v1/namespaces/default/services', service(long64.slice(0, 63)));
    assert.equal(fits.status, 201);
  });

  test('a Namespace name is a DNS-1123 label; most other names are DNS-1123 subdomains of up to 253', async () => {
    const dotted = await api(kube, 'POST', '/api/v1/namespaces', { metadata: { name: 'sky.prod' } });
    assert.equal(dotted.status, 422);
    assert.equal(
      dotted.body.message,
      'Namespace "sky.prod" is invalid: metadata.name: Invalid value: "sky.prod": must not contain dots',
    );
    const dottedMap = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'sky.prod' },
    });
    assert.equal(dottedMap.status, 201);
    const huge = 'a'.repeat(254);
    const tooLong = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: huge },
    });
    assert.equal(
      tooLong.body.message,
      `ConfigMap "${huge}" is invalid: metadata.name: Invalid value: "${huge}": must be no more than 253 characters`,
    );
    const upper = await api(kube, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'Sky' },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    assert.equal(
      upper.body.message,
      `Deployment.apps "Sky" is invalid: metadata.name: Invalid value: "Sky": ${subdomain}`,
    );
    assert.equal((upper.body.details as Obj).group, 'apps');
  });

  test('RBAC names only need to be one path segment ("system:..." is fine, "%" is not)', async () => {
    const ok = await api(kube, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: 'system:skyha-reader' },
      rules: [],
    });
    assert.equal(ok.status, 201);
    const bad = await api(kube, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: '50%-reader' },
      rules: [],
    });
    assert.equal(
      bad.body.message,
      `ClusterRole.rbac.authorization.k8s.io "50%-reader" is invalid: metadata.name: Invalid value: "50%-reader": may not contain '%'`,
    );
  });

  test('label values: at most 63 characters and the label-value grammar; several errors are bracketed', async () => {
    const value = 'v'.repeat(64);
    const both = await api(
      kube,
      'POST',
      '/api/v1/namespaces/default/services',
      service('labelled', { 'skyha.dev/run': value, tier: '-edge' }),
    );
    assert.equal(both.status, 422);
    assert.equal(
      both.body.message,
      `Service "labelled" is invalid: [metadata.labels: Invalid value: "${value}": must be no more than 63 characters, metadata.labels: Invalid value: "-edge": ${labelValue}]`,
    );
    assert.deepEqual(
      ((both.body.details as Obj).causes as Obj[]).map((c) => [c.reason, c.field]),
      [
        ['FieldValueInvalid', 'metadata.labels'],
        ['FieldValueInvalid', 'metadata.labels'],
      ],
    );
    const badKey = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'keyed', labels: { 'a/b/c': 'x' } },
    });
    assert.match(
      String(badKey.body.message),
      /^ConfigMap "keyed" is invalid: metadata\.labels: Invalid value: "a\/b\/c": a qualified name must consist of alphanumeric characters/,
    );
    const fine = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'fine', labels: { 'skyha.dev/run': 'v'.repeat(63), empty: '' } },
    });
    assert.equal(fine.status, 201);
  });

  test('a generateName prefix may end with a dash but must otherwise be a valid name', async () => {
    const ok = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'run-' },
    });
    assert.equal(ok.status, 201);
    const bad = await api(kube, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'Run-' },
    });
    assert.equal(bad.status, 422);
    const causes = ((bad.body.details as Obj).causes as Obj[]).map((c) => c.field);
    assert.deepEqual(causes, ['metadata.generateName', 'metadata.name']);
  });
});

for (const flavour of helmFlavours()) {
  test(`helm (${flavour}) installing a Service named with 64 characters fails with the API server's message`, async (t) => {
    const bins = await realBinaries(flavour);
    const kube = await startKubeStandIn();
    const tools = toolsFor(kube);
    t.after(async () => {
      await kube.close();
      tools.cleanup();
    });
    const chart = path.join(tools.dir, 'long-names');
    fs.mkdirSync(path.join(chart, 'templates'), { recursive: true });
    fs.writeFileSync(path.join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: long-names\nversion: 0.1.0\n');
    fs.writeFileSync(
      path.join(chart, 'templates', 'service.yaml'),
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${long64}\nspec:\n  ports:\n    - name: http\n      port: 80\n`,
    );
    const install = await runTool(
      bins.helm,
      ['install', 'long', chart, '--namespace', 'sky', '--create-namespace'],
      tools.env,
    );
    assert.equal(install.code, 1);
    const message = `Service "${long64}" is invalid: metadata.name: Invalid value: "${long64}": must be no more than 63 characters`;
    // helm 4 applies server-side and reports the one error; helm 3 creates and collects errors in a list.
    const expected =
      flavour === 'helm4'
        ? `Error: INSTALLATION FAILED: ${message}`
        : `Error: INSTALLATION FAILED: 1 error occurred:\n\t* ${message}`;
    assert.equal(install.stderr.trim(), expected);
    assert.equal(kube.list('v1', 'Service', 'sky').length, 0);
  });
}
