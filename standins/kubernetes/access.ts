import { clone, rec, str, type KubeObject, type ResourceType } from './resources.js';
import { ApiError } from './status.js';

// Authorization as an RBAC-enabled API server does it: every resource request is checked for its verb, group,
// resource and namespace before it is served, and a SelfSubjectAccessReview asks the very same question. The
// stand-in allows everything (a cluster-admin kubeconfig) except what a test tells it to deny.

/** One permission as RBAC and an access review name it; `*` matches any verb, group or resource. */
export interface AccessRule {
  verb: string;
  /** '' for the core group. */
  group: string;
  /** The plural resource, e.g. `clusterroles`; `pods/log` for a subresource. */
  resource: string;
  /** Only in this namespace; undefined: in every namespace and at the cluster scope. */
  namespace?: string;
}

/** The user the stand-in's kubeconfig authenticates as (SelfSubjectReview answers the same name). */
export const STANDIN_USER = 'standin-admin';

/** What one request asks for, as the API server's RequestInfo reads it from the method and the path. */
export interface RequestAttributes {
  method: string;
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  watch: boolean;
  /** Whether the named object exists: a PATCH that creates it (server-side apply) also needs `create`. */
  exists: () => boolean;
}

export class AccessControl {
  private readonly denied: AccessRule[] = [];

  /** Denies what the rule names from now on; returns what lifts the denial again. */
  deny(rule: AccessRule): () => void {
    const entry = { ...rule };
    this.denied.push(entry);
    return () => {
      const at = this.denied.indexOf(entry);
      if (at >= 0) this.denied.splice(at, 1);
    };
  }

  allows(asked: AccessRule): boolean {
    const match = (want: string, have: string): boolean => want === '*' || want === have;
    return !this.denied.some(
      (rule) =>
        match(rule.verb, asked.verb) &&
        match(rule.group, asked.group) &&
        match(rule.resource, asked.resource) &&
        (rule.namespace === undefined || rule.namespace === asked.namespace),
    );
  }

  /** POST selfsubjectaccessreviews: the review with its status, from the same rules as the requests. */
  review(body: KubeObject): KubeObject {
    const out = clone(body);
    const attributes = rec(rec(out.spec).resourceAttributes);
    const asked: AccessRule = {
      verb: str(attributes.verb) ?? '',
      group: str(attributes.group) ?? '',
      resource: [str(attributes.resource), str(attributes.subresource)].filter(Boolean).join('/'),
      ...(str(attributes.namespace) ? { namespace: str(attributes.namespace) } : {}),
    };
    out.status = this.allows(asked)
      ? { allowed: true, reason: 'the stand-in allows every request' }
      : // RBAC only ever allows: no rule that matches is a plain `allowed: false`, with no reason.
        { allowed: false };
    return out;
  }

  /** Throws the 403 Forbidden Status the API server answers a request its authorizer denies. */
  authorize(request: RequestAttributes): void {
    for (const verb of verbsOf(request)) {
      const { type, namespace, name, subresource } = request;
      const resource = subresource ? `${type.resource}/${subresource}` : type.resource;
      if (this.allows({ verb, group: type.group, resource, ...(namespace ? { namespace } : {}) })) continue;
      // The name is only part of the attributes for requests on one object (not a create's POST).
      const named = request.method === 'POST' ? undefined : name;
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      const cannot = `User "${STANDIN_USER}" cannot ${verb} resource "${resource}" in API group "${type.group}" ${scope}`;
      const qualified = type.group ? `${type.resource}.${type.group}` : type.resource;
      const subject = named ? `${qualified} "${named}"` : qualified;
      throw new ApiError(403, 'Forbidden', `${subject} is forbidden: ${cannot}`, {
        name: named ?? '',
        group: type.group,
        kind: type.resource,
      });
    }
  }
}

/** The verbs RBAC checks for a request; a PATCH that creates its object is also authorized as a create. */
function verbsOf(request: RequestAttributes): string[] {
  const { method, name } = request;
  switch (method) {
    case 'GET':
      return [request.watch ? 'watch' : name === undefined ? 'list' : 'get'];
    case 'POST':
      return ['create'];
    case 'PUT':
      return ['update'];
    case 'PATCH':
      return request.exists() ? ['patch'] : ['patch', 'create'];
    case 'DELETE':
      return [name === undefined ? 'deletecollection' : 'delete'];
    default:
      return [method.toLowerCase()];
  }
}
