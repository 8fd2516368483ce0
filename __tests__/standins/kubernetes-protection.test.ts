import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startKubeStandIn, type KubeStandIn } from '../../standins/kubernetes/index.js';
import { api, field } from '../support/kubeTools.js';

// Storage object in use protection (opt-in): a Bound volume and a mounted claim are only marked Terminating when
// deleted, and go once nothing holds them, as in a real cluster.

describe('kubernetes stand-in: pv-protection and pvc-protection', () => {
  let kube: KubeStandIn;
  before(async () => {
    kube = await startKubeStandIn({ storageProtection: true });
  });
  after(() => kube.close());

  test('a Bound volume waits for its claim, the claim for the pod that mounts it', async () => {
    await api(kube, 'POST', '/api/v1/persistentvolumes', {
      metadata: { name: 'pv' },
      spec: {
        capacity: { storage: '10Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'manual',
        claimRef: { namespace: 'default', name: 'claim' },
        csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/d' },
      },
    });
    await api(kube, 'POST', '/api/v1/namespaces/default/persistentvolumeclaims', {
      metadata: { name: 'claim' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        volumeName: 'pv',
        resources: { requests: { storage: '10Gi' } },
      },
    });
    await api(kube, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'server' },
      spec: {
        containers: [{ name: 'c', image: 'x' }],
        volumes: [{ name: 'state', persistentVolumeClaim: { claimName: 'claim' } }],
      },
    });
    const pv = () => kube.get('v1', 'PersistentVolume', undefined, 'pv');
    const claim = () => kube.get('v1', 'PersistentVolumeClaim', 'default', 'claim');
    assert.deepEqual(field(pv(), 'metadata.finalizers'), ['kubernetes.io/pv-protection']);
    assert.deepEqual(field(claim(), 'metadata.finalizers'), ['kubernetes.io/pvc-protection']);
    assert.equal(field(pv(), 'status.phase'), 'Bound');

    assert.equal((await api(kube, 'DELETE', '/api/v1/persistentvolumes/pv')).status, 200);
    assert.ok(field(pv(), 'metadata.deletionTimestamp'), 'a Bound volume is only Terminating');
    await api(kube, 'DELETE', '/api/v1/namespaces/default/persistentvolumeclaims/claim');
    assert.ok(field(claim(), 'metadata.deletionTimestamp'), 'a mounted claim is only Terminating');
    assert.ok(pv(), 'and its volume stays');

    await api(kube, 'DELETE', '/api/v1/namespaces/default/pods/server?gracePeriodSeconds=0');
    assert.equal(claim(), undefined, 'unmounted: the claim goes');
    assert.equal(pv(), undefined, 'unbound: the volume goes');
  });
});
