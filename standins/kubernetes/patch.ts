import { ApiError } from './status.js';
import { clone, deepEqual, isRecord, type KubeObject } from './resources.js';

/** The merge key of a list field in the built-in types (patchMergeKey in the Go structs). */
function mergeKeyFor(field: string, elements: unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'conditions':
      return 'type';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'ownerReferences':
      return 'uid';
    case 'ports':
      // Container ports are keyed by containerPort, Service ports by port.
      return elements.some((e) => isRecord(e) && 'containerPort' in e) ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

/** Primitive lists with patchStrategy "merge": elements are added, not replaced. */
const mergedPrimitiveLists = new Set(['finalizers']);

function invalidPatch(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

// ---- RFC 6902 JSON patch ----

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw invalidPatch(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: unknown; last: string } {
  let at = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(at)) at = at[Number(part)];
    else if (isRecord(at)) at = at[part];
    else at = undefined;
    if (at === undefined) throw invalidPatch(`doc is missing path: "${path}"`);
  }
  return { parent: at, last: parts[parts.length - 1] ?? '' };
}

function getAt(doc: unknown, path: string): unknown {
  let at = doc;
  for (const part of pointer(path)) {
    at = Array.isArray(at) ? at[Number(part)] : isRecord(at) ? at[part] : undefined;
    if (at === undefined) throw invalidPatch(`doc is missing path: "${path}"`);
  }
  return at;
}

function removeAt(doc: unknown, path: string): unknown {
  const { parent, last } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!(index >= 0 && index < parent.length)) throw invalidPatch(`doc is missing path: "${path}"`);
    return parent.splice(index, 1)[0];
  }
  if (!isRecord(parent) || !(last in parent)) throw invalidPatch(`doc is missing path: "${path}"`);
  const old = parent[last];
  Reflect.deleteProperty(parent, last);
  return old;
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const parts = pointer(path);
  if (parts.length === 0) return value;
  const { parent, last } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!(index >= 0 && index <= parent.length) || (replace && index >= parent.length)) {
      throw invalidPatch(`index out of range in "${path}"`);
    }
    parent.splice(index, replace ? 1 : 0, value);
  } else if (isRecord(parent)) {
    if (replace && !(last in parent)) throw invalidPatch(`doc is missing key: "${path}"`);
    parent[last] = value;
  } else throw invalidPatch(`doc is missing path: "${path}"`);
  return doc;
}

export function applyJsonPatch(original: KubeObject, patch: unknown): KubeObject {
  if (!Array.isArray(patch)) throw invalidPatch('json patch must be an array of operations');
  let doc: unknown = clone(original);
  for (const op of patch) {
    if (!isRecord(op)) throw invalidPatch('json patch operation must be an object');
    const path = String(op.path ?? '');
    switch (op.op) {
      case 'add':
        doc = addAt(doc, path, clone(op.value), false);
        break;
      case 'replace':
        doc = addAt(doc, path, clone(op.value), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move': {
        const value = removeAt(doc, String(op.from));
        doc = addAt(doc, path, value, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(getAt(doc, String(op.from))), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) throw invalidPatch(`testing value ${path} failed`);
        break;
      default:
        throw invalidPatch(`unexpected json patch operation: ${String(op.op)}`);
    }
  }
  if (!isRecord(doc)) throw invalidPatch('json patch result is not an object');
  return doc;
}

// ---- RFC 7386 JSON merge patch ----

export function applyMergePatch(original: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const result: Record<string, unknown> = isRecord(original) ? clone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---- Strategic merge patch ----

function keyOf(element: unknown, mergeKey: string): string | undefined {
  return isRecord(element) && element[mergeKey] !== undefined ? JSON.stringify(element[mergeKey]) : undefined;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    if (!k.startsWith('$') && v !== null) out[k] = stripDirectives(v);
  return out;
}

function mergeList(original: unknown, patch: unknown[], field: string): unknown[] {
  const base = Array.isArray(original) ? clone(original) : [];
  if (patch.some((e) => isRecord(e) && e.$patch === 'replace')) {
    return patch.filter((e) => !(isRecord(e) && e.$patch === 'replace')).map(stripDirectives);
  }
  const mergeKey = mergeKeyFor(field, [...base, ...patch]);
  if (!mergeKey) {
    if (mergedPrimitiveLists.has(field)) return [...new Set([...base, ...patch])];
    return patch.map(stripDirectives);
  }
  for (const element of patch) {
    const key = keyOf(element, mergeKey);
    const index = key === undefined ? -1 : base.findIndex((b) => keyOf(b, mergeKey) === key);
    if (isRecord(element) && element.$patch === 'delete') {
      if (index >= 0) base.splice(index, 1);
    } else if (index >= 0) base[index] = strategicMerge(base[index], element);
    else base.push(stripDirectives(element));
  }
  return base;
}

function orderList(list: unknown[], order: unknown[], field: string): unknown[] {
  const mergeKey = mergeKeyFor(field, [...list, ...order]);
  const keyed = (e: unknown): string => (mergeKey ? (keyOf(e, mergeKey) ?? '') : JSON.stringify(e));
  const wanted = order.map(keyed);
  const ordered = wanted.map((k) => list.find((e) => keyed(e) === k)).filter((e) => e !== undefined);
  return [...ordered, ...list.filter((e) => !wanted.includes(keyed(e)))];
}

/** Kubernetes strategic merge: merge keys for built-in lists, $patch, $setElementOrder, $retainKeys. */
export function strategicMerge(original: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: Record<string, unknown> = isRecord(original) ? clone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = Array.isArray(value) ? value : [];
      if (Array.isArray(result[field])) result[field] = result[field].filter((v) => !drop.includes(v));
    } else if (key === '$retainKeys' && Array.isArray(value)) {
      for (const k of Object.keys(result))
        if (!value.includes(k) && !(k in patch)) Reflect.deleteProperty(result, k);
    } else if (key.startsWith('$')) continue;
    else if (value === null) Reflect.deleteProperty(result, key);
    else if (Array.isArray(value)) result[key] = mergeList(result[key], value, key);
    else if (isRecord(value)) {
      const merged = strategicMerge(result[key], value);
      if (merged === undefined) Reflect.deleteProperty(result, key);
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith('$setElementOrder/') || !Array.isArray(value)) continue;
    const field = key.slice('$setElementOrder/'.length);
    if (Array.isArray(result[field])) result[field] = orderList(result[field], value, field);
  }
  return result;
}

// ---- Server-side apply ----

/** Leaf fields of an applied configuration, keyed like ".spec.containers[name=api].image". */
export function fieldPaths(value: unknown, prefix = '', field = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (prefix === '' && (k === 'apiVersion' || k === 'kind')) continue;
      if (prefix === '.metadata' && (k === 'name' || k === 'namespace')) continue;
      for (const [p, leaf] of fieldPaths(v, `${prefix}.${k}`, k)) out.set(p, leaf);
    }
    return out;
  }
  if (Array.isArray(value)) {
    const mergeKey = mergeKeyFor(field, value);
    if (mergeKey && value.every((e) => keyOf(e, mergeKey) !== undefined)) {
      for (const e of value) {
        for (const [p, leaf] of fieldPaths(e, `${prefix}[${mergeKey}=${keyOf(e, mergeKey)}]`, ''))
          out.set(p, leaf);
      }
      return out;
    }
  }
  out.set(prefix, value);
  return out;
}

/** Removes from live the fields a manager applied before and no longer applies. */
function removeDropped(live: unknown, previous: unknown, current: unknown, field: string): unknown {
  if (isRecord(live) && isRecord(previous)) {
    const result = clone(live);
    const now = isRecord(current) ? current : {};
    for (const key of Object.keys(previous)) {
      if (!(key in result)) continue;
      if (!(key in now)) Reflect.deleteProperty(result, key);
      else result[key] = removeDropped(result[key], previous[key], now[key], key);
    }
    return result;
  }
  if (Array.isArray(live) && Array.isArray(previous)) {
    const mergeKey = mergeKeyFor(field, [...live, ...previous]);
    if (!mergeKey) return live;
    const now = Array.isArray(current) ? current : [];
    const dropped = previous
      .map((e) => keyOf(e, mergeKey))
      .filter((k) => k !== undefined && !now.some((n) => keyOf(n, mergeKey) === k));
    return live
      .filter((e) => !dropped.includes(keyOf(e, mergeKey)))
      .map((e) => {
        const k = keyOf(e, mergeKey);
        const before = previous.find((p) => keyOf(p, mergeKey) === k);
        const after = now.find((n) => keyOf(n, mergeKey) === k);
        return before && after ? removeDropped(e, before, after, '') : e;
      });
  }
  return live;
}

export interface ApplyConflict {
  manager: string;
  field: string;
}

/**
 * Server-side apply of one manager's configuration: fields it dropped are removed, the rest merged;
 * a field another apply manager set to a different value is a conflict unless forced.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  config: KubeObject,
  manager: string,
  appliedBy: Map<string, KubeObject>,
  force: boolean,
): { object: KubeObject; conflicts: ApplyConflict[] } {
  const conflicts: ApplyConflict[] = [];
  const mine = fieldPaths(config);
  for (const [other, otherConfig] of appliedBy) {
    if (other === manager) continue;
    const theirs = fieldPaths(otherConfig);
    const lost: string[] = [];
    for (const [path, value] of mine) {
      if (theirs.has(path) && !deepEqual(theirs.get(path), value)) {
        if (force) lost.push(path);
        else conflicts.push({ manager: other, field: path });
      }
    }
    // A forced apply takes the field over: the other manager no longer owns (or removes) it.
    if (lost.length) appliedBy.set(other, dropPaths(otherConfig, new Set(lost)));
  }
  const base = live ? (removeDropped(live, appliedBy.get(manager) ?? {}, config, '') as KubeObject) : {};
  const merged = strategicMerge(base, config) as KubeObject;
  return { object: merged, conflicts };
}

function dropPaths(config: KubeObject, paths: Set<string>): KubeObject {
  const walk = (value: unknown, prefix: string, field: string): unknown => {
    if (isRecord(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const path = `${prefix}.${k}`;
        if (paths.has(path)) continue;
        out[k] = walk(v, path, k);
      }
      return out;
    }
    if (Array.isArray(value)) {
      const mergeKey = mergeKeyFor(field, value);
      if (mergeKey) return value.map((e) => walk(e, `${prefix}[${mergeKey}=${keyOf(e, mergeKey)}]`, ''));
    }
    return value;
  };
  return walk(config, '', '') as KubeObject;
}
