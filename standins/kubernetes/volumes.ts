import type { ClusterState } from './clusterState.js';
import { parseQuantity } from './quantity.js';
import {
  isRecord,
  labelsOf,
  metadataOf,
  nameOf,
  namespaceOf,
  rec,
  str,
  type KubeObject,
} from './resources.js';
import { matchesLabelSelector } from './selectors.js';
import { T, recordEvent, save, uidOf, type Controller } from './controllerKit.js';

function claimKey(claim: KubeObject): string {
  return `${namespaceOf(claim)}/${nameOf(claim)}`;
}

function accessModes(obj: KubeObject): string[] {
  const modes = rec(obj.spec).accessModes;
  return Array.isArray(modes) ? modes.map(String) : [];
}

/** Why a volume cannot hold a claim, or undefined when it can (class, size, modes, volumeMode, selector). */
export function volumeMismatch(pv: KubeObject, claim: KubeObject): string | undefined {
  const pvSpec = rec(pv.spec);
  const claimSpec = rec(claim.spec);
  const pvClass = str(pvSpec.storageClassName) ?? '';
  const claimClass = str(claimSpec.storageClassName) ?? '';
  if (pvClass !== claimClass)
    return `storageClassName does not match (volume "${pvClass}", claim "${claimClass}")`;
  const capacity = parseQuantity(rec(pvSpec.capacity).storage) ?? 0;
  const request = parseQuantity(rec(rec(claimSpec.resources).requests).storage) ?? 0;
  if (capacity < request) {
    return `requested PV is too small (capacity ${String(rec(pvSpec.capacity).storage)} < request ${String(rec(rec(claimSpec.resources).requests).storage)})`;
  }
  const offered = accessModes(pv);
  const missing = accessModes(claim).filter((m) => !offered.includes(m));
  if (missing.length)
    return `incompatible accessMode (volume offers ${offered.join(',')}, claim wants ${missing.join(',')})`;
  if ((pvSpec.volumeMode ?? 'Filesystem') !== (claimSpec.volumeMode ?? 'Filesystem'))
    return 'incompatible volumeMode';
  if (claimSpec.selector !== undefined && !matchesLabelSelector(claimSpec.selector, labelsOf(pv))) {
    return 'volume labels do not match the claim selector';
  }
  return undefined;
}

/** Whether a volume's claimRef leaves it free for this claim: empty, or naming it (and its uid, if set). */
function claimRefAllows(pv: KubeObject, claim: KubeObject): boolean {
  const ref = rec(pv.spec).claimRef;
  if (!isRecord(ref)) return true;
  if (ref.namespace !== namespaceOf(claim) || ref.name !== nameOf(claim)) return false;
  return ref.uid === undefined || ref.uid === '' || ref.uid === uidOf(claim);
}

function bind(cluster: ClusterState, pv: KubeObject, claim: KubeObject, byController: boolean): boolean {
  const pvSpec = rec(pv.spec);
  pvSpec.claimRef = {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: namespaceOf(claim),
    name: nameOf(claim),
    uid: uidOf(claim),
  };
  pv.spec = pvSpec;
  pv.status = { phase: 'Bound' };
  const pvAnnotations = rec(metadataOf(pv).annotations);
  if (byController) pvAnnotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  if (Object.keys(pvAnnotations).length) metadataOf(pv).annotations = pvAnnotations;
  let changed = save(cluster, T.pv, pv);
  const claimSpec = rec(claim.spec);
  claimSpec.volumeName = nameOf(pv);
  claim.spec = claimSpec;
  const annotations: Record<string, unknown> = {
    ...rec(metadataOf(claim).annotations),
    'pv.kubernetes.io/bind-completed': 'yes',
  };
  if (byController) annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  metadataOf(claim).annotations = annotations;
  claim.status = { phase: 'Bound', accessModes: rec(pv.spec).accessModes, capacity: rec(pv.spec).capacity };
  changed = save(cluster, T.pvc, claim) || changed;
  return changed;
}

/** A new volume from the claim's class, as a CSI provisioner would make: named pvc-<claim uid>. */
function provision(cluster: ClusterState, claim: KubeObject, className: string): KubeObject | undefined {
  const sc = cluster.store.get(T.storageClass, undefined, className);
  if (!sc) return undefined;
  const name = `pvc-${uidOf(claim)}`;
  const spec = rec(claim.spec);
  const pv: KubeObject = {
    metadata: {
      name,
      annotations: {
        'pv.kubernetes.io/provisioned-by': String(sc.provisioner),
        'volume.kubernetes.io/provisioner-deletion-secret-name': '',
      },
      finalizers: [],
    },
    spec: {
      accessModes: spec.accessModes,
      capacity: { storage: rec(rec(spec.resources).requests).storage },
      storageClassName: className,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      volumeMode: spec.volumeMode ?? 'Filesystem',
      csi: {
        driver: String(sc.provisioner),
        volumeHandle: `projects/standin/zones/${cluster.options.nodeZone}/disks/${name}`,
        fsType: 'ext4',
      },
    },
    status: { phase: 'Pending' },
  };
  delete rec(pv.metadata).finalizers;
  save(cluster, T.pv, pv);
  return cluster.store.get(T.pv, undefined, name);
}

/** The PersistentVolume binder: phases of volumes, then binding each pending claim. */
export const volumeBinder: Controller = (cluster) => {
  const claims = new Map(cluster.store.list(T.pvc).map((c) => [claimKey(c), c]));
  let changed = updateVolumePhases(cluster, claims);
  for (const claim of claims.values()) changed = bindClaim(cluster, claim) || changed;
  return changed;
};

/** Available, Bound or Released from each volume's claimRef; a released Delete volume goes. */
function updateVolumePhases(cluster: ClusterState, claims: Map<string, KubeObject>): boolean {
  let changed = false;
  for (const pv of cluster.store.list(T.pv)) {
    const ref = rec(rec(pv.spec).claimRef);
    const claim = ref.name ? claims.get(`${String(ref.namespace)}/${String(ref.name)}`) : undefined;
    let phase: string;
    if (!ref.name) phase = 'Available';
    else if (claim && (!ref.uid || ref.uid === uidOf(claim))) {
      phase = rec(claim.spec).volumeName === nameOf(pv) && ref.uid ? 'Bound' : 'Available';
    } else if (!ref.uid) phase = 'Available';
    else if (rec(pv.spec).persistentVolumeReclaimPolicy === 'Delete') {
      cluster.store.remove(T.pv, undefined, nameOf(pv));
      changed = true;
      continue;
    } else phase = 'Released';
    if (rec(pv.status).phase !== phase) {
      pv.status = { ...rec(pv.status), phase };
      changed = save(cluster, T.pv, pv) || changed;
    }
  }
  return changed;
}

/** One claim: a bound one may be lost; a pending one binds its named volume, a matching one, or a new one. */
function bindClaim(cluster: ClusterState, claim: KubeObject): boolean {
  const volumeName = str(rec(claim.spec).volumeName);
  const bound = volumeName ? cluster.store.get(T.pv, undefined, volumeName) : undefined;
  const phase = rec(claim.status).phase;
  if (phase === 'Bound') {
    if (bound && rec(rec(bound.spec).claimRef).uid === uidOf(claim)) return false;
    claim.status = { ...rec(claim.status), phase: 'Lost' };
    const changed = save(cluster, T.pvc, claim);
    const lost = 'Bound claim has lost its PersistentVolume. Data on the volume is lost!';
    return recordEvent(cluster, claim, 'Warning', 'ClaimLost', lost) || changed;
  }
  if (phase === 'Lost') return false;
  if (volumeName) return bindRequested(cluster, claim, volumeName, bound);
  const match = cluster.store
    .list(T.pv)
    .filter(
      (pv) => rec(pv.status).phase === 'Available' && claimRefAllows(pv, claim) && !volumeMismatch(pv, claim),
    )
    .sort((a, b) => {
      const pre = (pv: KubeObject): number => (isRecord(rec(pv.spec).claimRef) ? 0 : 1);
      const size = (pv: KubeObject): number => parseQuantity(rec(rec(pv.spec).capacity).storage) ?? 0;
      return pre(a) - pre(b) || size(a) - size(b);
    })[0];
  if (match) return bind(cluster, match, claim, true);
  return provisionFor(cluster, claim);
}

/** A claim that names its volume binds it, or says why not in an Event. */
function bindRequested(
  cluster: ClusterState,
  claim: KubeObject,
  volumeName: string,
  bound: KubeObject | undefined,
): boolean {
  const mismatch = (why: string): boolean => recordEvent(cluster, claim, 'Warning', 'VolumeMismatch', why);
  if (!bound) return mismatch(`volume "${volumeName}" not found`);
  const wrong = volumeMismatch(bound, claim);
  if (wrong) return mismatch(`Cannot bind to requested volume "${volumeName}": ${wrong}`);
  if (!claimRefAllows(bound, claim)) {
    return mismatch(
      `Cannot bind to requested volume "${volumeName}": volume already bound to a different claim.`,
    );
  }
  return bind(cluster, bound, claim, false);
}

/** Dynamic provisioning from the claim's class, when it has one and no selector. */
function provisionFor(cluster: ClusterState, claim: KubeObject): boolean {
  const spec = rec(claim.spec);
  const className = str(spec.storageClassName);
  if (!className || spec.selector !== undefined) return false;
  const made = provision(cluster, claim, className);
  if (!made) {
    const why = `storageclass.storage.k8s.io "${className}" not found`;
    return recordEvent(cluster, claim, 'Warning', 'ProvisioningFailed', why);
  }
  const changed = bind(cluster, made, claim, true);
  const done = `Successfully provisioned volume ${nameOf(made)}`;
  return recordEvent(cluster, claim, 'Normal', 'ProvisioningSucceeded', done) || changed;
}
