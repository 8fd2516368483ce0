import { documentEtag } from './aggregatedDiscovery.js';
import { apiVersionOf, groupVersions, resourceTypes, verbsOf, type ResourceType } from './resources.js';

export const serverVersion = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.5-standin',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** GET /api: the legacy core group's versions. */
export function coreVersions(): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }],
  };
}

/** GET /apis: every named group, one preferred version each. */
export function groupList(): Record<string, unknown> {
  const groups = groupVersions().filter((gv) => gv.group !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((gv) => ({
      name: gv.group,
      versions: [{ groupVersion: apiVersionOf(gv), version: gv.version }],
      preferredVersion: { groupVersion: apiVersionOf(gv), version: gv.version },
    })),
  };
}

/** GET /apis/G: one group. */
export function group(name: string): Record<string, unknown> | undefined {
  const gv = groupVersions().find((g) => g.group === name);
  if (!gv) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: [{ groupVersion: apiVersionOf(gv), version: gv.version }],
    preferredVersion: { groupVersion: apiVersionOf(gv), version: gv.version },
  };
}

/** GET /api/v1 or /apis/G/V: the resources (and subresources) of a group-version. */
export function resourceList(groupName: string, version: string): Record<string, unknown> | undefined {
  const types = resourceTypes.filter((t) => t.group === groupName && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Array<Record<string, unknown>> = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: verbsOf(t),
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.review ? {} : { storageVersionHash: Buffer.from(t.resource).toString('base64').slice(0, 11) }),
    });
    for (const sub of t.subresources ?? []) {
      resources.push({
        name: `${t.resource}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: sub === 'scale' ? 'Scale' : t.kind,
        ...(sub === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
        verbs: sub === 'log' ? ['get'] : ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group: groupName, version }),
    resources,
  };
}

function openApiPath(gv: { group: string; version: string }): string {
  return gv.group ? `apis/${gv.group}/${gv.version}` : 'api/v1';
}

/** GET /openapi/v3: where each group-version's document is, under the hash (ETag) of that document. */
export function openApiIndex(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions()) {
    const path = openApiPath(gv);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${documentEtag(openApiDocument(path))}` };
  }
  return { paths };
}

const fieldValidation = {
  name: 'fieldValidation',
  in: 'query',
  description:
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
  schema: { type: 'string', uniqueItems: true },
};

function itemPath(t: ResourceType): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : '/api/v1';
  return t.namespaced
    ? `${base}/namespaces/{namespace}/${t.resource}/{name}`
    : `${base}/${t.resource}/{name}`;
}

/**
 * GET /openapi/v3/<gv>: a stub with one PATCH operation per resource that declares `fieldValidation`,
 * which is how kubectl decides the server validates fields itself (without it, apply refuses).
 */
export function openApiDocument(path: string): Record<string, unknown> | undefined {
  const gv = groupVersions().find((g) => openApiPath(g) === path);
  if (!gv) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of resourceTypes.filter(
    (r) => r.group === gv.group && r.version === gv.version && !r.review,
  )) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    paths[itemPath(t)] = {
      patch: {
        operationId: `patch${t.kind}`,
        parameters: [
          fieldValidation,
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.5-standin' },
    paths,
    components: { schemas: {} },
  };
}
