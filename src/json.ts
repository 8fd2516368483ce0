/** Reads a nested field of parsed JSON (a Kubernetes object) without trusting its shape. */
export function at(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );
}
