import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { realBinaries, type HelmFlavour } from '../../standins/binaries.js';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { CommandError } from '../../src/clients/command.js';
import { Kubectl } from '../../src/clients/kubectl.js';

/** A kubectl that appends its argv to a file before running the real one, to prove what reached the command line. */
function recordingWrapper(real: string, dir: string): { binary: string; argv: () => string } {
  const log = path.join(dir, 'argv.log');
  const binary = path.join(dir, 'kubectl');
  fs.writeFileSync(binary, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`, {
    mode: 0o755,
  });
  return { binary, argv: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '') };
}

for (const flavour of ['helm4', 'helm3'] as HelmFlavour[]) {
  describe(`Kubectl against the Kubernetes stand-in (${flavour} pair)`, () => {
    let kube: KubeStandIn;
    let kubectl: Kubectl;
    let argv: () => string;
    let dir: string;

    before(async () => {
      const bins = await realBinaries(flavour);
      kube = await startKubeStandIn();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-kubectl-test-'));
      const wrapper = recordingWrapper(bins.kubectl, dir);
      argv = wrapper.argv;
      kubectl = new Kubectl(wrapper.binary, { kubeconfig: kube.writeKubeconfig(dir), env: { HOME: dir } });
    });
    after(async () => {
      await kube?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('getJson: NotFound is undefined, not an error', async () => {
      assert.equal(await kubectl.getJson('persistentvolume', 'nope'), undefined);
      assert.equal(await kubectl.getJson('secret', 'nope', 'default'), undefined);
    });

    test('apply: one server-side apply with our field manager, manifest on stdin, result returned', async () => {
      kube.clearRequests();
      const created = await kubectl.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cm', namespace: 'default', labels: { app: 'x' } },
        data: { key: 'value' },
      });
      assert.equal(created.metadata?.name, 'cm');
      assert.ok(created.metadata?.uid);
      const writes = kube.mutatingRequests();
      assert.equal(writes.length, 1);
      assert.equal(writes[0]!.method, 'PATCH');
      assert.equal(writes[0]!.contentType, 'application/apply-patch+yaml');
      assert.match(writes[0]!.query, /fieldManager=skyha-action/);
      assert.doesNotMatch(argv(), /value/);
    });

    test('apply of a Secret: the value reaches neither argv nor the result log', async () => {
      const secret = 'hunter2-very-secret';
      await kubectl.apply(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's', namespace: 'default' },
          stringData: { token: secret },
        },
        { secrets: [secret] },
      );
      const stored = kube.get('v1', 'Secret', 'default', 's') as
        { data?: Record<string, string> } | undefined;
      assert.equal(Buffer.from(stored?.data?.token ?? '', 'base64').toString(), secret);
      assert.doesNotMatch(argv(), /hunter2/);
      assert.doesNotMatch(argv(), new RegExp(Buffer.from(secret).toString('base64')));
    });

    test('list with a label selector', async () => {
      await kubectl.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'other', namespace: 'default' },
      });
      const items = await kubectl.list('configmaps', 'default', 'app=x');
      assert.deepEqual(
        items.map((i) => i.metadata?.name),
        ['cm'],
      );
      const nodes = await kubectl.list('nodes');
      assert.ok(nodes.length >= 1);
    });

    test('patch: merge and json (with a test guard that fails when the object changed)', async () => {
      const merged = await kubectl.patch('configmap', 'cm', { data: { more: '1' } }, 'merge', 'default');
      assert.deepEqual(merged.data, { key: 'value', more: '1' });
      const json = await kubectl.patch(
        'configmap',
        'cm',
        [
          { op: 'test', path: '/data/key', value: 'value' },
          { op: 'remove', path: '/data/key' },
        ],
        'json',
        'default',
      );
      assert.deepEqual(json.data, { more: '1' });
      await assert.rejects(
        kubectl.patch(
          'configmap',
          'cm',
          [{ op: 'test', path: '/data/more', value: 'stale' }],
          'json',
          'default',
        ),
        CommandError,
      );
    });

    test('other failures throw with kubectl stderr and the kubeconfig and request timeout are always given', async () => {
      await assert.rejects(
        kubectl.getJson('no-such-kind', 'x'),
        (e: unknown) => e instanceof CommandError && /no-such-kind|resource type/i.test(e.message),
      );
      for (const line of argv().trim().split('\n')) {
        assert.match(line, /--request-timeout=30s --kubeconfig=\S+/);
      }
    });
  });
}
