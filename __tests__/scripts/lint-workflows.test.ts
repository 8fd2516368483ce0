import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatFinding,
  isVarsFalsePositive,
  lintWorkflows,
  readWorkflows,
  unpinnedUses,
  type WorkflowFile,
} from '../../scripts/lint-workflows.js';

const SHA = '3d3c42e5aac5ba805825da76410c181273ba90b1';

const workflow = (steps: string, file = '.github/workflows/w.yml'): WorkflowFile => ({
  path: file,
  text: `on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`,
});

describe('actionlint over workflows', () => {
  it('accepts vars.NAME (actionlint 1.6.22 does not know the vars context)', async () => {
    const w = workflow(
      `      - run: echo "$X"\n        env:\n          X: \${{ vars.DEPLOY_SERVICE_ACCOUNT }}\n`,
    );
    assert.deepEqual(await lintWorkflows([w]), []);
  });

  it('still reports an undefined context that is not vars, and other mistakes', async () => {
    const w = workflow(
      `      - run: echo "\${{ varz.X }}"\n      - run: echo "\${{ steps.nope.outputs.x }}"\n        step: 1\n`,
    );
    const messages = (await lintWorkflows([w])).map(formatFinding);
    assert.equal(messages.length, 3, messages.join('\n'));
    assert.match(
      messages[0]!,
      /^\.github\/workflows\/w\.yml:6:\d+: undefined variable "varz"\..*\[expression\]$/,
    );
    assert.match(messages[1]!, /property "nope" is not defined/);
    assert.match(messages[2]!, /unexpected key "step"/);
  });

  it('filters only the exact vars finding: another kind, another position or no github there is kept', () => {
    const source = 'a: ${{ vars.X }}\nb: ${{ github.vars }}\n';
    const message = 'undefined variable "vars". available variables are "env", "github", "inputs"';
    const finding = { file: 'f', line: 1, column: 8, message, kind: 'expression' };
    assert.equal(isVarsFalsePositive(finding, source), true);
    assert.equal(isVarsFalsePositive({ ...finding, kind: 'syntax-check' }, source), false);
    assert.equal(isVarsFalsePositive({ ...finding, line: 2 }, source), false);
    assert.equal(
      isVarsFalsePositive({ ...finding, message: message.replace('"github", ', '') }, source),
      false,
    );
    assert.equal(
      isVarsFalsePositive({ ...finding, message: 'undefined variable "varsx". ...' }, source),
      false,
    );
  });
});

describe('every action pinned by commit SHA', () => {
  const cases: [string, string, string | undefined][] = [
    ['a major tag', '      - uses: actions/checkout@v4\n', 'pin actions/checkout@v4 to a commit'],
    ['a SHA without its version', `      - uses: actions/checkout@${SHA}\n`, 'end the line with # vX.Y.Z'],
    ['a SHA with a major only', `      - uses: actions/checkout@${SHA} # v7\n`, 'end the line with # vX.Y.Z'],
    ['a short SHA', `      - uses: actions/checkout@${SHA.slice(0, 7)} # v7.0.1\n`, 'to a commit'],
    ['a SHA with its version', `      - uses: actions/checkout@${SHA} # v7.0.1\n`, undefined],
    ['a quoted pin', `      - uses: 'google-github-actions/auth@${SHA}' # v3.0.0\n`, undefined],
    ['an action in a subfolder', `      - uses: github/codeql-action/init@${SHA} # v4.1.0\n`, undefined],
    ['a local action', '      - uses: ./.github/actions/setup\n', undefined],
    ['an image by tag', '      - uses: docker://alpine:3.20\n', 'by its @sha256: digest'],
    ['an image by digest', `      - uses: docker://alpine@sha256:${'a'.repeat(64)}\n`, undefined],
    ['this action outside the examples', '      - uses: org/skyha-action@v1\n', 'pin org/skyha-action@v1'],
  ];
  for (const [what, steps, problem] of cases) {
    it(`${what}: ${problem ?? 'accepted'}`, () => {
      const messages = unpinnedUses(workflow(steps)).map((f) => f.message);
      if (problem === undefined) assert.deepEqual(messages, []);
      else assert.ok(messages.length === 1 && messages[0]!.includes(problem), messages.join('\n'));
    });
  }

  it('accepts this action at its major tag in the examples users copy', () => {
    assert.deepEqual(unpinnedUses(workflow('      - uses: org/skyha-action@v1\n', 'examples/x.yml')), []);
  });

  it('finds the line and column of each unpinned uses, reusable workflows included', () => {
    const w = {
      path: '.github/workflows/w.yml',
      text: `on: push\njobs:\n  a:\n    uses: o/r/.github/workflows/x.yml@main\n  b:\n    uses: ./.github/workflows/ci.yml\n`,
    };
    assert.deepEqual(
      unpinnedUses(w).map((f) => `${f.line}:${f.column}`),
      ['4:5'],
    );
  });

  it('refuses a uses it cannot check on a line of its own', () => {
    const messages = unpinnedUses(workflow('      - { uses: actions/checkout@v4 }\n')).map((f) => f.message);
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /1 uses: in the YAML but 0 on lines of their own/);
  });
});

describe("the outputs read from this action's step", () => {
  it('a read of an output action.yml does not declare is a finding; changes, plan and login-command are declared', async () => {
    const step = (output: string): WorkflowFile =>
      workflow(
        `      - id: sky\n        uses: org/skyha-action@${SHA} # v1.0.0\n        with:\n          zone: us-east5-b\n` +
          `          web-password: x\n      - run: echo "$X"\n        env:\n          X: \${{ steps.sky.outputs.${output} }}\n`,
      );
    for (const declared of ['changes', 'plan', 'login-command'])
      assert.deepEqual((await lintWorkflows([step(declared)])).map(formatFinding), [], declared);
    const messages = (await lintWorkflows([step('changed')])).map(formatFinding);
    assert.deepEqual(messages.length, 1, messages.join('\n'));
    assert.match(messages[0]!, /steps\.sky\.outputs\.changed: action\.yml has no output "changed"/);
  });
});

describe("the repository's workflows and examples", () => {
  it('pass actionlint and pin every action', async () => {
    const workflows = readWorkflows();
    const paths = workflows.map((w) => w.path);
    for (const file of ['.github/workflows/ci.yml', '.github/workflows/release.yml', 'examples/deploy.yml']) {
      assert.ok(paths.includes(file), file);
    }
    assert.deepEqual((await lintWorkflows(workflows)).map(formatFinding), []);
  });
});
