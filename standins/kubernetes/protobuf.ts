import { badRequest } from './status.js';
import type { KubeObject } from './resources.js';

/** The 4-byte prefix of every Kubernetes protobuf body: "k8s\0", then a runtime.Unknown envelope. */
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const protobufContentType = 'application/vnd.kubernetes.protobuf';

interface Field {
  number: number;
  wireType: number;
  value: bigint | Buffer;
}

/** Splits one protobuf message into its fields (varint, 64-bit, length-delimited, 32-bit). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw badRequest('truncated protobuf varint');
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) out.push({ number, wireType, value: varint() });
    else if (wireType === 1) {
      out.push({ number, wireType, value: buf.subarray(at, at + 8) });
      at += 8;
    } else if (wireType === 2) {
      const length = Number(varint());
      out.push({ number, wireType, value: buf.subarray(at, at + length) });
      at += length;
    } else if (wireType === 5) {
      out.push({ number, wireType, value: buf.subarray(at, at + 4) });
      at += 4;
    } else throw badRequest(`unsupported protobuf wire type ${wireType}`);
  }
  return out;
}

function bytesOf(f: Field): Buffer {
  return Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(0);
}

function text(f: Field): string {
  return bytesOf(f).toString('utf8');
}

function mapEntry(f: Field): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const e of fields(bytesOf(f))) {
    if (e.number === 1) key = text(e);
    if (e.number === 2) value = bytesOf(e);
  }
  return [key, value];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  const names: Record<number, string> = {
    1: 'name',
    2: 'generateName',
    3: 'namespace',
    5: 'uid',
    6: 'resourceVersion',
  };
  for (const f of fields(buf)) {
    const key = names[f.number];
    if (key) meta[key] = text(f);
    else if (f.number === 11) {
      const [k, v] = mapEntry(f);
      labels[k] = v.toString('utf8');
    } else if (f.number === 12) {
      const [k, v] = mapEntry(f);
      annotations[k] = v.toString('utf8');
    } else if (f.number === 14) finalizers.push(text(f));
  }
  if (Object.keys(labels).length) meta.labels = labels;
  if (Object.keys(annotations).length) meta.annotations = annotations;
  if (finalizers.length) meta.finalizers = finalizers;
  return meta;
}

/** Secret, ConfigMap and Namespace: the kinds helm (release storage, --create-namespace) and kubectl create send as protobuf. */
function decodeKind(kind: string, buf: Buffer): KubeObject {
  const obj: KubeObject = {};
  const data: Record<string, string> = {};
  const stringData: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const f of fields(buf)) {
    if (f.number === 1) obj.metadata = objectMeta(bytesOf(f));
    else if (kind === 'Secret') {
      if (f.number === 2) {
        const [k, v] = mapEntry(f);
        data[k] = v.toString('base64');
      } else if (f.number === 3) obj.type = text(f);
      else if (f.number === 4) {
        const [k, v] = mapEntry(f);
        stringData[k] = v.toString('utf8');
      } else if (f.number === 5) obj.immutable = f.value !== 0n;
    } else if (kind === 'ConfigMap') {
      if (f.number === 2) {
        const [k, v] = mapEntry(f);
        data[k] = v.toString('utf8');
      } else if (f.number === 3) {
        const [k, v] = mapEntry(f);
        binaryData[k] = v.toString('base64');
      } else if (f.number === 4) obj.immutable = f.value !== 0n;
    } else if (kind === 'Namespace' && f.number === 2) {
      const finalizers = fields(bytesOf(f))
        .filter((s) => s.number === 1)
        .map(text);
      if (finalizers.length) obj.spec = { finalizers };
    }
  }
  if (Object.keys(data).length) obj.data = data;
  if (Object.keys(stringData).length) obj.stringData = stringData;
  if (Object.keys(binaryData).length) obj.binaryData = binaryData;
  return obj;
}

/** DeleteOptions: helm sends them as protobuf when it purges release Secrets. */
function deleteOptions(buf: Buffer): KubeObject {
  const out: KubeObject = {};
  const dryRun: string[] = [];
  for (const f of fields(buf)) {
    if (f.number === 1 && typeof f.value === 'bigint') out.gracePeriodSeconds = Number(f.value);
    else if (f.number === 2) {
      const preconditions: Record<string, string> = {};
      for (const p of fields(bytesOf(f))) {
        if (p.number === 1) preconditions.uid = text(p);
        if (p.number === 2) preconditions.resourceVersion = text(p);
      }
      out.preconditions = preconditions;
    } else if (f.number === 3) out.orphanDependents = f.value !== 0n;
    else if (f.number === 4) out.propagationPolicy = text(f);
    else if (f.number === 5) dryRun.push(text(f));
  }
  if (dryRun.length) out.dryRun = dryRun;
  return out;
}

/** `kubectl auth can-i` sends its review as protobuf: spec.resourceAttributes / nonResourceAttributes / namespace. */
function accessReview(kind: string, buf: Buffer): KubeObject {
  const out: KubeObject = {};
  const strings = (b: Buffer, names: Record<number, string>): Record<string, string> => {
    const o: Record<string, string> = {};
    for (const f of fields(b)) if (names[f.number]) o[names[f.number]!] = text(f);
    return o;
  };
  for (const f of fields(buf)) {
    if (f.number === 1) out.metadata = objectMeta(bytesOf(f));
    if (f.number !== 2) continue;
    const spec: Record<string, unknown> = {};
    for (const s of fields(bytesOf(f))) {
      if (kind === 'SelfSubjectRulesReview' && s.number === 1) spec.namespace = text(s);
      else if (s.number === 1) {
        const names = {
          1: 'namespace',
          2: 'verb',
          3: 'group',
          4: 'version',
          5: 'resource',
          6: 'subresource',
          7: 'name',
        };
        spec.resourceAttributes = strings(bytesOf(s), names);
      } else if (s.number === 2) spec.nonResourceAttributes = strings(bytesOf(s), { 1: 'path', 2: 'verb' });
    }
    out.spec = spec;
  }
  return out;
}

/** Decodes a `k8s\0` + runtime.Unknown body into the JSON object it stands for. */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (!body.subarray(0, 4).equals(magic)) throw badRequest('protobuf body lacks the k8s\\0 prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.number === 1) {
      for (const t of fields(bytesOf(f))) {
        if (t.number === 1) apiVersion = text(t);
        if (t.number === 2) kind = text(t);
      }
    } else if (f.number === 2) raw = bytesOf(f);
  }
  if (kind === 'DeleteOptions') return { apiVersion, kind, ...deleteOptions(raw) };
  if (kind === 'SelfSubjectAccessReview' || kind === 'SelfSubjectRulesReview') {
    return { apiVersion, kind, ...accessReview(kind, raw) };
  }
  if (!['Secret', 'ConfigMap', 'Namespace'].includes(kind)) {
    throw new ProtobufUnsupported(kind);
  }
  return { apiVersion, kind, ...decodeKind(kind, raw) };
}

/** A kind this stand-in cannot decode: answered 415 so a client retries in JSON. */
export class ProtobufUnsupported extends Error {
  constructor(readonly kind: string) {
    super(`the stand-in decodes protobuf only for Secret, ConfigMap and Namespace, not ${kind}`);
  }
}
