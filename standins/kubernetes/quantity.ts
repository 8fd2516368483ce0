const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Parses a Kubernetes quantity ("10Gi", "10G", "1.5Ti", "500m", "1e9") to a number; undefined when malformed. */
export function parseQuantity(text: unknown): number | undefined {
  if (typeof text === 'number') return text;
  if (typeof text !== 'string') return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/.exec(
    text.trim(),
  );
  if (!match) return undefined;
  const mantissa = Number(match[1]);
  if (match[3] !== undefined) return mantissa * 10 ** Number(match[3]);
  const suffix = match[2] ?? '';
  const factor = binary[suffix] ?? decimal[suffix];
  return factor === undefined ? undefined : mantissa * factor;
}
