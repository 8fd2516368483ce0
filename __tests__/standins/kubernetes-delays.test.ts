import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { realBinaries } from '../../standins/binaries.js';
import { startChartRepo } from '../../standins/chartRepo.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { LB_HTTP_PORT, lbUrl, testLB } from '../support/network.js';

// A fast cloud's stand-in: controllers that act a moment after a write, a load balancer address a moment after its
// Service, both told to watchers as they happen; and the chart repository's variant without hook Jobs.

const exec = promisify(execFile);
type Obj = Record<string, unknown>;

function field(obj: unknown, dotted: string): unknown {
  let at = obj;
  for (const part of dotted.split('.'))
    at = typeof at === 'object' && at !== null ? (at as Obj)[part] : undefined;
  return at;
}

async function api(kube: KubeStandIn, method: string, urlPath: string, body?: unknown): Promise<Obj> {
  const response = await fetch(`${kube.url}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Obj;
}

/** Watches a collection from `resourceVersion` until an event's object meets `wanted`; returns that event. */
async function watchUntil(
  kube: KubeStandIn,
  collection: string,
  resourceVersion: string,
  wanted: (o: Obj) => boolean,
) {
  const controller = new AbortController();
  const response = await fetch(`${kube.url}${collection}?watch=true&resourceVersion=${resourceVersion}`, {
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  let buffered = '';
  try {
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline < 0) {
        const chunk = await reader.read();
        assert.equal(chunk.done, false, 'the watch ended before the change came');
        buffered += Buffer.from(chunk.value).toString();
        continue;
      }
      const event = JSON.parse(buffered.slice(0, newline)) as Obj;
      buffered = buffered.slice(newline + 1);
      if (wanted(event.object as Obj)) return event;
    }
  } finally {
    controller.abort();
  }
}

test('controllerDelayMs: a Deployment is answered before its controllers act, and a watch sees them act', async () => {
  const kube = await startKubeStandIn({ controllerDelayMs: 200 });
  try {
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'slow' } });
    const created = await api(kube, 'POST', '/apis/apps/v1/namespaces/slow/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    // The write is answered before any controller acted: no status, no ReplicaSet yet.
    assert.equal(field(created, 'status.availableReplicas'), undefined);
    assert.equal(kube.list('apps/v1', 'ReplicaSet', 'slow').length, 0);
    const version = String(field(created, 'metadata.resourceVersion'));
    const event = await watchUntil(
      kube,
      '/apis/apps/v1/namespaces/slow/deployments',
      version,
      (d) => field(d, 'status.availableReplicas') === 1,
    );
    assert.equal(event.type, 'MODIFIED');
    assert.equal(kube.list('apps/v1', 'ReplicaSet', 'slow').length, 1);
  } finally {
    await kube.close();
  }
});

testLB(
  'loadBalancerDelayMs: no address at first, then a watch event with it, and the ingress serves there',
  async () => {
    const kube = await startKubeStandIn({ loadBalancerDelayMs: 300, controllerDelayMs: 100 });
    try {
      kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lb' } });
      const created = await api(kube, 'POST', '/api/v1/namespaces/lb/services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'r-ingress-nginx-controller',
          labels: {
            'app.kubernetes.io/name': 'ingress-nginx',
            'app.kubernetes.io/component': 'controller',
            'app.kubernetes.io/instance': 'r',
          },
        },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: LB_HTTP_PORT }] },
      });
      const read = await api(kube, 'GET', '/api/v1/namespaces/lb/services/r-ingress-nginx-controller');
      assert.equal(field(read, 'status.loadBalancer.ingress'), undefined);
      const event = await watchUntil(
        kube,
        '/api/v1/namespaces/lb/services',
        String(field(created, 'metadata.resourceVersion')),
        (s) => field(s, 'status.loadBalancer.ingress.0.ip') !== undefined,
      );
      const ip = field(event, 'object.status.loadBalancer.ingress.0.ip');
      assert.match(String(ip), /^127\.\d+\.\d+\.\d+$/);
      // The ingress follows the controllers between requests: the address answers (404: no Ingress routes yet).
      let status = 0;
      for (let pause = 10; status === 0; pause *= 2) {
        status = await fetch(`${lbUrl(ip)}/api/health`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
      assert.equal(status, 404, 'the address answers, with no Ingress routes yet');
    } finally {
      await kube.close();
    }
  },
);

test('hookJobs false: the charts are served with the admission webhook and its hook Jobs off', async () => {
  const bins = await realBinaries('helm4');
  const repo = await startChartRepo(bins.helm, { hookJobs: false });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-light-chart-'));
  const env = {
    ...process.env,
    HOME: home,
    HELM_CACHE_HOME: home,
    HELM_CONFIG_HOME: home,
    HELM_DATA_HOME: home,
  };
  try {
    const { stdout } = await exec(
      bins.helm,
      [
        'template',
        'r',
        'skypilot-nightly',
        '--repo',
        repo.url,
        '--devel',
        '--set',
        'ingress.authCredentials=a:b',
      ],
      { env },
    );
    const kinds = YAML.parseAllDocuments(stdout).map((d) => field(d.toJS(), 'kind'));
    assert.ok(kinds.includes('Deployment') && kinds.includes('Service'), kinds.join(', '));
    assert.ok(!kinds.includes('Job'), `a hook Job is still rendered: ${kinds.join(', ')}`);
    assert.ok(!kinds.includes('ValidatingWebhookConfiguration'), kinds.join(', '));
  } finally {
    await repo.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});
