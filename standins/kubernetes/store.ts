import { randomUUID } from 'node:crypto';
import {
  apiVersionOf,
  clone,
  deepEqual,
  metadataOf,
  nameOf,
  namespaceOf,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import { strategyOf } from './strategies.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  resourceType: ResourceType;
  namespace: string | undefined;
  object: KubeObject;
  resourceVersion: number;
}

function typeKey(t: ResourceType): string {
  return `${t.group}/${t.resource}`;
}

function objectKey(t: ResourceType, namespace: string | undefined, name: string): string {
  return `${typeKey(t)}/${t.namespaced ? (namespace ?? '') : ''}/${name}`;
}

/** Fields the server owns: a write never changes them, a change anywhere else bumps generation. */
const serverOwnedMeta = [
  'uid',
  'creationTimestamp',
  'generation',
  'resourceVersion',
  'selfLink',
  'managedFields',
];

/** Generic storage keyed by group/resource/namespace/name, with one resourceVersion counter and an event log. */
export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private counter = 100;

  get resourceVersion(): number {
    return this.counter;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(objectKey(t, namespace, name));
    return found ? clone(found) : undefined;
  }

  list(t: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${typeKey(t)}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (t.namespaced && namespace !== undefined && namespaceOf(obj) !== namespace) continue;
      out.push(clone(obj));
    }
    return out.sort((a, b) =>
      `${namespaceOf(a)}/${nameOf(a)}`.localeCompare(`${namespaceOf(b)}/${nameOf(b)}`),
    );
  }

  /** Inserts or replaces; server-owned metadata is kept from the stored object. Returns the stored copy. */
  write(t: ResourceType, input: KubeObject): KubeObject {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    const meta = metadataOf(obj);
    if (!t.namespaced) delete meta.namespace;
    const key = objectKey(t, namespaceOf(obj), nameOf(obj));
    const previous = this.objects.get(key);
    const tracksGeneration = strategyOf(t).generation;
    if (previous && deepEqual(withoutVersion(previous), withoutVersion(obj))) return clone(previous);
    if (previous) {
      const before = metadataOf(previous);
      for (const field of serverOwnedMeta)
        if (before[field] !== undefined) meta[field] = before[field];
        else Reflect.deleteProperty(meta, field);
      const specChanged = !deepEqual(specPart(previous), specPart(obj));
      if (tracksGeneration) meta.generation = Number(before.generation ?? 1) + (specChanged ? 1 : 0);
    } else {
      meta.uid = meta.uid ?? randomUUID();
      meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      if (tracksGeneration) meta.generation = 1;
      delete meta.managedFields;
    }
    // Only the strategies that implement generation (workloads, Ingress, ...) have one at all.
    if (!tracksGeneration) delete meta.generation;
    this.counter++;
    meta.resourceVersion = String(this.counter);
    this.objects.set(key, obj);
    this.emit({
      type: previous ? 'MODIFIED' : 'ADDED',
      resourceType: t,
      namespace: namespaceOf(obj),
      object: clone(obj),
      resourceVersion: this.counter,
    });
    return clone(obj);
  }

  remove(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(t, namespace, name);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    this.counter++;
    metadataOf(previous).resourceVersion = String(this.counter);
    this.emit({
      type: 'DELETED',
      resourceType: t,
      namespace: namespaceOf(previous),
      object: clone(previous),
      resourceVersion: this.counter,
    });
    return clone(previous);
  }

  /** Every stored object, for garbage collection by owner and namespace. */
  all(): Array<{ key: string; object: KubeObject }> {
    return [...this.objects].map(([key, object]) => ({ key, object: clone(object) }));
  }

  /** Events after a resourceVersion, or undefined when the log no longer reaches back that far (410 Gone). */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    const first = this.history[0];
    if (first && resourceVersion < first.resourceVersion - 1 && this.history.length >= historyLimit)
      return undefined;
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > historyLimit) this.history.shift();
    for (const listener of [...this.listeners]) listener(event);
  }
}

const historyLimit = 20000;

function withoutVersion(obj: KubeObject): KubeObject {
  const copy = clone(obj);
  const meta = metadataOf(copy);
  delete meta.resourceVersion;
  delete meta.managedFields;
  delete meta.generation;
  return copy;
}

function specPart(obj: KubeObject): KubeObject {
  const copy: KubeObject = { ...obj };
  delete copy.metadata;
  delete copy.status;
  return copy;
}
