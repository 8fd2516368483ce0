import { badRequest } from './status.js';
import { isRecord, labelsOf, type KubeObject } from './resources.js';

type Requirement = (labels: Record<string, string>) => boolean;

/** Splits on commas that are not inside a set "(a,b)". */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

function parseTerm(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
  if (set) {
    const [, key = '', op, values = ''] = set;
    const members = values.split(',').map((v) => v.trim());
    return op === 'in'
      ? (l) => key in l && members.includes(l[key] ?? '')
      : (l) => !(key in l) || !members.includes(l[key] ?? '');
  }
  const cmp = /^([^!=\s]+)\s*(==|!=|=)\s*(\S*)$/.exec(term);
  if (cmp) {
    const [, key = '', op, value = ''] = cmp;
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (/^!\S+$/.test(term)) return (l) => !(term.slice(1) in l);
  if (/^\S+$/.test(term)) return (l) => term in l;
  throw badRequest(`unable to parse requirement: ${term}`);
}

/** The label selector grammar of the API server: =, ==, !=, in, notin, exists, !exists. */
export function labelSelector(selector: string | null): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map(parseTerm);
  return (obj) => {
    const labels = labelsOf(obj);
    return requirements.every((req) => req(labels));
  };
}

function fieldValue(obj: KubeObject, path: string): string {
  let at: unknown = obj;
  for (const part of path.split('.')) at = isRecord(at) ? at[part] : undefined;
  return at === undefined || at === null ? '' : String(at);
}

/** Field selectors (metadata.name, metadata.namespace, status.phase, involvedObject.name, ...): =, ==, !=. */
export function fieldSelector(selector: string | null): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const terms = splitTerms(selector).map((term) => {
    const m = /^([^!=\s]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, path = '', op, value = ''] = m;
    return (obj: KubeObject) => (fieldValue(obj, path) === value) === (op !== '!=');
  });
  return (obj) => terms.every((t) => t(obj));
}

/** A metav1.LabelSelector object (matchLabels, matchExpressions), as PVC and Deployment specs carry. */
export function matchesLabelSelector(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return true;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const e of expressions) {
    if (!isRecord(e)) continue;
    const key = String(e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    const has = key in labels;
    const ok =
      e.operator === 'In'
        ? has && values.includes(labels[key] ?? '')
        : e.operator === 'NotIn'
          ? !has || !values.includes(labels[key] ?? '')
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}
