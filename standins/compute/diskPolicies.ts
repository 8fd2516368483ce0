import { notFound } from './errors.js';
import type { Operations } from './operations.js';
import { policiesAfterAdd, policiesAfterRemove } from './policies.js';
import type { DiskJson, OperationState, ResourcePolicyJson } from './resources.js';
import { ZONAL_OR_REGIONAL, type ApiCall, type Route } from './routes.js';

/** disks.addResourcePolicies / removeResourcePolicies (zonal and regional): a disk's snapshot schedule. */
export function diskPolicyRoutes(
  ops: Operations,
  disks: Map<string, DiskJson>,
  policies: Map<string, ResourcePolicyJson>,
): Route[] {
  const verb = (name: string) => new RegExp(`${ZONAL_OR_REGIONAL}\\/disks\\/([^/]+)\\/${name}$`);
  return [
    [
      'POST',
      verb('addResourcePolicies'),
      (call) => ops.once(call, () => changePolicies(ops, disks, policies, call, 'add')),
    ],
    [
      'POST',
      verb('removeResourcePolicies'),
      (call) => ops.once(call, () => changePolicies(ops, disks, policies, call, 'remove')),
    ],
  ];
}

/** Applied when accepted, as a disk insert is: a dropped answer still leaves the change made. */
function changePolicies(
  ops: Operations,
  disks: Map<string, DiskJson>,
  policies: Map<string, ResourcePolicyJson>,
  call: ApiCall,
  verb: 'add' | 'remove',
): OperationState {
  const [projectId, scope] = [call.match[1]!, call.match[2]!];
  const diskKey = `projects/${projectId}/${scope}/disks/${call.match[3]}`;
  const disk = disks.get(diskKey);
  if (!disk) throw notFound(diskKey);
  const references = call.body.resourcePolicies;
  const next =
    verb === 'add'
      ? policiesAfterAdd(disk, references, policies, projectId, diskKey).map((p) => p.selfLink)
      : policiesAfterRemove(disk, references, projectId, diskKey);
  const op = ops.start(call, scope, `${verb}ResourcePolicies`, diskKey);
  op.json.targetId = disk.id;
  if (!op.failure) {
    if (next.length) disk.resourcePolicies = next;
    else delete disk.resourcePolicies;
  }
  return op;
}
