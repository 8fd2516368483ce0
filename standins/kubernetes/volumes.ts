import type { Cluster } from './cluster.js';
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

function bind(cluster: Cluster, pv: KubeObject, claim: KubeObject, byController: boolean): boolean {
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
function provision(cluster: Cluster, claim: KubeObject, className: string): KubeObject | undefined {
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
  let changed = false;
  const claims = new Map(cluster.store.list(T.pvc).map((c) => [claimKey(c), c]));
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
  for (const claim of claims.values()) {
    const spec = rec(claim.spec);
    const volumeName = str(spec.volumeName);
    const bound = volumeName ? cluster.store.get(T.pv, undefined, volumeName) : undefined;
    if (rec(claim.status).phase === 'Bound') {
      if (!bound || rec(rec(bound.spec).claimRef).uid !== uidOf(claim)) {
        claim.status = { ...rec(claim.status), phase: 'Lost' };
        changed = save(cluster, T.pvc, claim) || changed;
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'ClaimLost',
            `Bound claim has lost its PersistentVolume. Data on the volume is lost!`,
          ) || changed;
      }
      continue;
    }
    if (rec(claim.status).phase === 'Lost') continue;
    if (volumeName) {
      if (!bound) {
        changed =
          recordEvent(cluster, claim, 'Warning', 'VolumeMismatch', `volume "${volumeName}" not found`) ||
          changed;
        continue;
      }
      const mismatch = volumeMismatch(bound, claim);
      if (mismatch) {
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'VolumeMismatch',
            `Cannot bind to requested volume "${volumeName}": ${mismatch}`,
          ) || changed;
        continue;
      }
      if (!claimRefAllows(bound, claim)) {
        changed =
          recordEvent(
            cluster,
            claim,
            'Warning',
            'VolumeMismatch',
            `Cannot bind to requested volume "${volumeName}": volume already bound to a different claim.`,
          ) || changed;
        continue;
      }
      changed = bind(cluster, bound, claim, false) || changed;
      continue;
    }
    const candidates = cluster.store
      .list(T.pv)
      .filter(
        (pv) =>
          rec(pv.status).phase === 'Available' && claimRefAllows(pv, claim) && !volumeMismatch(pv, claim),
      )
      .sort((a, b) => {
        const pre = (pv: KubeObject): number => (isRecord(rec(pv.spec).claimRef) ? 0 : 1);
        const size = (pv: KubeObject): number => parseQuantity(rec(rec(pv.spec).capacity).storage) ?? 0;
        return pre(a) - pre(b) || size(a) - size(b);
      });
    const match = candidates[0];
    if (match) {
      changed = bind(cluster, match, claim, true) || changed;
      continue;
    }
    const className = str(spec.storageClassName);
    if (!className || spec.selector !== undefined) continue;
    const made = provision(cluster, claim, className);
    if (made) {
      changed = bind(cluster, made, claim, true) || changed;
      changed =
        recordEvent(
          cluster,
          claim,
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${nameOf(made)}`,
        ) || changed;
    } else {
      changed =
        recordEvent(
          cluster,
          claim,
          'Warning',
          'ProvisioningFailed',
          `storageclass.storage.k8s.io "${className}" not found`,
        ) || changed;
    }
  }
  return changed;
};
