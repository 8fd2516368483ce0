// The Compute API's descriptors, cut down to the calls the action makes. The package's protos.json describes
// v1, v1beta and v1small (4,500 messages, 11.7 MB); protobufjs resolves every one of them when a client is built
// (~0.8 s of CPU, ~115 MB of heap). The calls below need fewer than a hundred.

/** The calls the action makes, per client (client method names). Only these have descriptors, and types. */
export const COMPUTE_CALLS = {
  disks: {
    service: 'Disks',
    methods: ['get', 'insert', 'createSnapshot', 'delete', 'addResourcePolicies', 'setLabels'],
  },
  regionDisks: {
    service: 'RegionDisks',
    methods: ['get', 'insert', 'createSnapshot', 'delete', 'addResourcePolicies', 'setLabels'],
  },
  zoneOperations: { service: 'ZoneOperations', methods: ['wait'] },
  regionOperations: { service: 'RegionOperations', methods: ['wait'] },
  globalOperations: { service: 'GlobalOperations', methods: ['wait'] },
  snapshots: { service: 'Snapshots', methods: ['get', 'list', 'delete'] },
  resourcePolicies: { service: 'ResourcePolicies', methods: ['insert', 'get', 'patch'] },
  addresses: { service: 'Addresses', methods: ['get', 'insert'] },
} as const;

export type ComputeCalls = Readonly<Record<string, { service: string; methods: readonly string[] }>>;

/** protobufjs's JSON form (Root.toJSON / pbjs -t json), as far as trimming needs to read it. */
export interface ProtoNode {
  options?: Record<string, unknown>;
  nested?: Record<string, ProtoNode>;
  fields?: Record<string, { type: string; keyType?: string }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  [key: string]: unknown;
}

const V1 = ['google', 'cloud', 'compute', 'v1'];
const SCALARS = new Set(
  'double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 bool string bytes'.split(
    ' ',
  ),
);

/** `createSnapshot` is the proto method `CreateSnapshot`. */
export const protoMethodName = (clientMethod: string): string =>
  clientMethod[0]!.toUpperCase() + clientMethod.slice(1);

/**
 * The descriptors of the given calls: their services with only those methods, the v1 messages they reach, and
 * everything outside google.cloud.compute (google.api, google.protobuf: options and well-known types) as it is.
 * Pure and idempotent; throws when a call or a type it names is missing.
 */
export function trimComputeProtos(root: ProtoNode, calls: ComputeCalls = COMPUTE_CALLS): ProtoNode {
  const v1 = lookup(root, V1);
  if (!v1?.nested) throw new Error('The Compute descriptors have no google.cloud.compute.v1');
  const all = v1.nested;
  const kept = new Map<string, ProtoNode>();

  const visit = (ref: string, scope: string[]): void => {
    if (SCALARS.has(ref)) return;
    const parts = ref.split('.');
    for (let i = scope.length; i >= 0; i--) {
      const path = [...scope.slice(0, i), ...parts];
      if (!lookup(v1, path)) continue;
      const top = path[0]!;
      if (!kept.has(top)) {
        kept.set(top, all[top]!);
        walkFields(all[top]!, [top]);
      }
      return;
    }
    // Not in v1: a type from outside (google.protobuf.Any), which is kept whole.
    if (!lookup(root, parts)) throw new Error(`The Compute descriptors have no type ${ref}`);
  };
  const walkFields = (node: ProtoNode, path: string[]): void => {
    for (const field of Object.values(node.fields ?? {})) visit(field.type, path);
    for (const [name, child] of Object.entries(node.nested ?? {})) walkFields(child, [...path, name]);
  };

  for (const { service, methods } of Object.values(calls)) {
    const descriptor = all[service];
    if (!descriptor?.methods) throw new Error(`The Compute descriptors have no service ${service}`);
    const trimmed: NonNullable<ProtoNode['methods']> = {};
    for (const name of methods.map(protoMethodName)) {
      const method = descriptor.methods[name];
      if (!method) throw new Error(`The Compute service ${service} has no method ${name}`);
      trimmed[name] = method;
      visit(method.requestType, []);
      visit(method.responseType, []);
    }
    kept.set(service, { ...descriptor, methods: trimmed });
  }
  // In the package's own order, so the output is the same whatever the order of the calls.
  const nested = Object.fromEntries(
    Object.keys(all)
      .filter((name) => kept.has(name))
      .map((name) => [name, kept.get(name)!]),
  );
  return replaceAt(root, V1.slice(0, -1), (compute) => ({ ...compute, nested: { v1: { ...v1, nested } } }));
}

function lookup(node: ProtoNode, path: readonly string[]): ProtoNode | undefined {
  let current: ProtoNode | undefined = node;
  for (const name of path) current = current?.nested?.[name];
  return current;
}

/** A copy of `node` with the namespace at `path` replaced; nothing else is copied or changed. */
function replaceAt(
  node: ProtoNode,
  path: readonly string[],
  replace: (n: ProtoNode) => ProtoNode,
): ProtoNode {
  if (!path.length) return replace(node);
  const [head, ...rest] = path as [string, ...string[]];
  const child = node.nested?.[head];
  if (!child) throw new Error(`The Compute descriptors have no namespace ${head}`);
  return { ...node, nested: { ...node.nested, [head]: replaceAt(child, rest, replace) } };
}
