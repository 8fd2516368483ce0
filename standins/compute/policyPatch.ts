import { invalid, notFound } from './errors.js';
import type { Operations } from './operations.js';
import { snapshotSchedulePolicy } from './policies.js';
import type { OperationState, ResourcePolicyJson } from './resources.js';
import type { ApiCall, Json } from './routes.js';

/**
 * resourcePolicies.patch (compute/v1): "Modify the specified resource policy", a region operation. As gcloud's
 * `resource-policies update snapshot-schedule` uses it (it sends only the parts it changes), each part of
 * snapshotSchedulePolicy given (schedule, retentionPolicy, snapshotProperties) replaces that part whole, and a
 * given description replaces the description; the result is checked as an insert is. GCE's handling of
 * updateMask and of other fields was not found, so the stand-in refuses them rather than guess. Applied when
 * accepted, as the other writes here are: a dropped answer still leaves the change made.
 */
export function patchPolicy(
  ops: Operations,
  policies: Map<string, ResourcePolicyJson>,
  call: ApiCall,
): OperationState {
  const { match: m, body, query } = call;
  const key = `projects/${m[1]}/regions/${m[2]}/resourcePolicies/${m[3]}`;
  const policy = policies.get(key);
  if (!policy) throw notFound(key);
  if (query.updateMask !== undefined)
    throw invalid("Invalid value for field 'updateMask': the stand-in does not implement update masks.");
  if (body.name !== undefined && body.name !== policy.name)
    throw invalid(
      `Invalid value for field 'resource.name': '${String(body.name)}'. A resource policy cannot be renamed.`,
    );
  const unknown = Object.keys(body).filter(
    (k) => !['name', 'description', 'snapshotSchedulePolicy'].includes(k),
  );
  if (unknown.length)
    throw invalid(
      `Invalid value for field 'resource.${unknown[0]}': the stand-in patches snapshot schedules only.`,
    );
  const given = (body.snapshotSchedulePolicy ?? {}) as Json;
  const merged = { ...(policy.snapshotSchedulePolicy as unknown as Json) };
  for (const part of ['schedule', 'retentionPolicy', 'snapshotProperties'])
    if (given[part] !== undefined) merged[part] = given[part];
  const next = snapshotSchedulePolicy({ snapshotSchedulePolicy: merged });
  const op = ops.start(call, `regions/${m[2]}`, 'patch', key);
  op.json.targetId = policy.id;
  if (!op.failure) {
    policy.snapshotSchedulePolicy = next;
    if (typeof body.description === 'string') policy.description = body.description;
  }
  return op;
}
