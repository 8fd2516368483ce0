import type { protos } from '@google-cloud/compute';
import { OAuth2Client } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { apiErrorDetail, endpointOptions, httpStatus } from '../../src/clients/compute.js';
import type { ComputeStandIn } from '../../standins/compute/index.js';

// What the Compute stand-in's own tests share: the real clients' options, plain HTTP, operations and failures.

export type Operation = protos.google.cloud.compute.v1.IOperation;

/** Options for the real @google-cloud/compute clients (REST fallback), built as src/clients/compute.ts builds them. */
export function clientOptions(standIn: ComputeStandIn, projectId: string): ClientOptions {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: standIn.accessToken, expiry_date: Date.now() + 3_600_000 });
  return { projectId, fallback: true, authClient, ...endpointOptions(standIn.url) };
}

/** One call over plain HTTP, for the exact status and body the API answers. */
export async function call(
  standIn: ComputeStandIn,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${standIn.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${standIn.accessToken}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** insert() and friends resolve to [lro, ...]; the Operation is the LRO's latestResponse. */
export const operationOf = (result: readonly unknown[]): Operation =>
  (result[0] as { latestResponse: Operation }).latestResponse;

/** Waits for an operation with `wait` (a zone's or a region's client) until DONE, at most 10 polls. */
export async function waitDone(
  wait: (name: string) => Promise<readonly [Operation, ...unknown[]]>,
  op: Operation,
): Promise<Operation> {
  let current = op;
  for (let i = 0; i < 10 && current.status !== 'DONE'; i++) [current] = await wait(op.name!);
  return current;
}

/** The HTTP status, Google's reason and message of a client call that must fail. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ status: number | undefined; reason: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { reason, message } = apiErrorDetail(error);
    return { status: httpStatus(error), reason, message };
  }
  throw new Error('expected the call to fail');
}
