import type { Cluster } from './cluster.js';

/** The objects a fresh cluster has: namespaces, nodes, the default StorageClass, the kubernetes Service. */
export function seedCluster(cluster: Cluster): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    cluster.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const zone = cluster.options.nodeZone;
  const region = zone.replace(/-[a-z]$/, '');
  for (let i = 1; i <= cluster.options.nodeCount; i++) {
    cluster.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `standin-node-${i}`,
        labels: {
          'kubernetes.io/hostname': `standin-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zone,
          'topology.kubernetes.io/region': region,
          'failure-domain.beta.kubernetes.io/zone': zone,
          'node.kubernetes.io/instance-type': 'e2-standard-8',
        },
      },
      spec: { podCIDR: `10.244.${i - 1}.0/24`, providerID: `gce://standin/${zone}/standin-node-${i}` },
      status: {
        addresses: [
          { type: 'InternalIP', address: cluster.options.nodeAddress },
          { type: 'Hostname', address: `standin-node-${i}` },
        ],
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '7910m', memory: '29Gi', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.33.5',
          osImage: 'Container-Optimized OS',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    });
  }
  if (cluster.options.defaultStorageClass) {
    cluster.put({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'standard-rwo',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'pd.csi.storage.gke.io',
      parameters: { type: 'pd-balanced' },
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    });
  }
  cluster.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
  });
}
