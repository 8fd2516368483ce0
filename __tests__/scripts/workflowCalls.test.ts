import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readActionSpec } from '../../scripts/docs.js';
import { readWorkflows } from '../../scripts/lint-workflows.js';
import {
  actionInputFindings,
  actionOutputFindings,
  calledPath,
  reusableCallFindings,
  type Finding,
  type WorkflowFile,
} from '../../scripts/workflowCalls.js';

const called = (extra = ''): WorkflowFile => ({
  path: 'examples/called.yml',
  text: `on:
  workflow_call:
    inputs:
      cluster:
        type: string
        required: true
      dry:
        type: boolean
        default: false
      replicas:
        type: number
        default: 1
    secrets:
      PASSWORD:
        required: true
      KEY:
        required: false
    outputs:
      changes:
        value: \${{ jobs.j.outputs.changes }}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ inputs.cluster }} \${{ inputs.dry }}${extra}"
`,
});

const caller = (call: string, file = 'examples/caller.yml'): WorkflowFile => ({
  path: file,
  text: `on:
  workflow_dispatch:
    inputs:
      name:
        type: string
      flag:
        type: boolean
jobs:
  call:
${call}`,
});

const messages = (findings: Finding[]): string[] => findings.map((f) => `${f.line}:${f.column} ${f.message}`);

const GOOD_CALL = `    uses: ./.github/workflows/called.yml
    with:
      cluster: prod
      dry: true
      replicas: 2
    secrets:
      PASSWORD: \${{ secrets.PASSWORD }}
`;

describe('a call of a reusable workflow against the workflow it calls', () => {
  it('accepts a call that passes declared inputs of the declared types and every required one', () => {
    assert.deepEqual(messages(reusableCallFindings([called(), caller(GOOD_CALL)])), []);
  });

  const cases: Array<[string, string, RegExp]> = [
    [
      'an input it does not declare',
      GOOD_CALL.replace('replicas: 2', 'zone: x'),
      /has no input "zone" \(its inputs: cluster, dry, replicas\)/,
    ],
    [
      'a required input left out',
      GOOD_CALL.replace('      cluster: prod\n', ''),
      /requires input "cluster", which is not passed/,
    ],
    [
      'a string for a boolean',
      GOOD_CALL.replace('dry: true', "dry: 'yes'"),
      /input "dry" is a string, but the workflow declares it a boolean/,
    ],
    [
      'a string for a number',
      GOOD_CALL.replace('replicas: 2', 'replicas: two'),
      /input "replicas" is a string, but .* a number/,
    ],
    [
      'a string input of the caller for a boolean',
      GOOD_CALL.replace('dry: true', 'dry: ${{ inputs.name }}'),
      /"dry" is a string/,
    ],
    [
      'a mapping for an input',
      GOOD_CALL.replace('replicas: 2', 'replicas: { a: 1 }'),
      /"replicas" is a mapping or list/,
    ],
    [
      'a secret it does not declare',
      `${GOOD_CALL}      TOKEN: x\n`,
      /has no secret "TOKEN" \(its secrets: PASSWORD, KEY\)/,
    ],
    [
      'a required secret left out',
      GOOD_CALL.replace('PASSWORD: ${{', 'KEY: ${{'),
      /requires secret "PASSWORD"/,
    ],
    [
      'a workflow that does not exist',
      GOOD_CALL.replace('called.yml', 'gone.yml'),
      /examples\/gone\.yml does not exist/,
    ],
  ];
  for (const [what, call, expected] of cases) {
    it(`finds ${what}`, () => {
      const found = messages(reusableCallFindings([called(), caller(call)]));
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, expected);
    });
  }

  it('takes a boolean input of the caller for a boolean, any expression it cannot type, and any scalar for a string', () => {
    const call = GOOD_CALL.replace('dry: true', 'dry: ${{ inputs.flag }}')
      .replace('replicas: 2', "replicas: ${{ vars.N || '1' }}")
      .replace('cluster: prod', 'cluster: 7');
    assert.deepEqual(messages(reusableCallFindings([called(), caller(call)])), []);
  });

  it('takes secrets: inherit for every secret', () => {
    const call = GOOD_CALL.replace(/ {4}secrets:\n.*\n/, '    secrets: inherit\n');
    assert.deepEqual(messages(reusableCallFindings([called(), caller(call)])), []);
  });

  it('finds the line of what is wrong, and an output the caller reads that the workflow does not give', () => {
    const text = `${GOOD_CALL}  after:\n    needs: call\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "\${{ needs.call.outputs.changes }} \${{ needs.call.outputs.plan }}"\n`;
    const found = messages(reusableCallFindings([called(), caller(text.replace('replicas: 2', 'zone: x'))]));
    assert.deepEqual(
      found.map((m) => m.replace(/ .*(no input|no output).*/, ' $1')),
      ['14:7 no input', '21:58 no output'],
    );
  });

  it('finds an inputs.NAME the reusable workflow reads but does not declare', () => {
    const found = messages(reusableCallFindings([called(' ${{ inputs.zone }}'), caller(GOOD_CALL)]));
    assert.deepEqual(found, ['25:64 inputs.zone is not declared under on.workflow_call.inputs']);
  });

  it('refuses to call a workflow without on.workflow_call, and leaves remote workflows alone', () => {
    const plain = { path: 'examples/called.yml', text: 'on: push\njobs: {}\n' };
    assert.match(messages(reusableCallFindings([plain, caller(GOOD_CALL)]))[0]!, /has no on\.workflow_call/);
    const remote = GOOD_CALL.replace(
      './.github/workflows/called.yml',
      `o/r/.github/workflows/x.yml@${'a'.repeat(40)}`,
    );
    assert.deepEqual(messages(reusableCallFindings([caller(remote)])), []);
  });

  it('resolves the call beside the caller: an example calls the copy users put into .github/workflows/', () => {
    assert.equal(
      calledPath('examples/deploy.yml', './.github/workflows/skypilot-deploy.yml'),
      'examples/skypilot-deploy.yml',
    );
    assert.equal(
      calledPath('.github/workflows/release.yml', './.github/workflows/ci.yml'),
      '.github/workflows/ci.yml',
    );
    assert.equal(calledPath('examples/x.yml', './.github/actions/setup'), undefined);
  });
});

describe('the inputs a step gives this action against action.yml', () => {
  const spec = { inputs: { zone: { required: true }, cluster: {}, mode: { required: false } } };
  const step = (inputs: string): WorkflowFile => ({
    path: 'examples/x.yml',
    text: `on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@${'a'.repeat(40)} # v7.0.1\n      - uses: org/skyha-action@v1\n        with:\n${inputs}`,
  });

  it('accepts declared inputs with every required one', () => {
    assert.deepEqual(actionInputFindings([step('          zone: a\n          mode: plan\n')], spec), []);
  });

  it('finds an input action.yml does not declare, at its line', () => {
    const found = messages(actionInputFindings([step('          zone: a\n          clustr: b\n')], spec));
    assert.deepEqual(found, ['10:11 org/skyha-action@v1 has no input "clustr" (action.yml)']);
  });

  it('finds a required input left out', () => {
    const found = messages(actionInputFindings([step('          cluster: b\n')], spec));
    assert.deepEqual(found, [
      '7:9 org/skyha-action@v1 requires input "zone" (action.yml), which is not passed',
    ]);
  });
});

describe('the outputs a workflow reads from this action against action.yml', () => {
  const spec = { outputs: { 'server-url': {}, changes: {} } };
  const workflow: WorkflowFile = {
    path: 'examples/x.yml',
    text: `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    outputs:
      changes: \${{ steps.sky.outputs.changes }}
      plan: \${{ steps.sky.outputs.plan }}
    steps:
      - id: sky
        uses: org/skyha-action@v1
        with: { zone: a }
      - id: other
        run: echo "x=1" >> "$GITHUB_OUTPUT"
      - run: echo "\${{ steps.sky.outputs.server-url }} \${{ steps.other.outputs.x }}"
`,
  };

  it("finds an output the action does not declare, and leaves other steps' outputs alone", () => {
    assert.deepEqual(messages(actionOutputFindings([workflow], spec)), [
      '7:17 steps.sky.outputs.plan: action.yml has no output "plan"',
    ]);
  });
});

describe("the repository's workflows and examples", () => {
  it('call their reusable workflows as declared, and give this action only its inputs, every required one', () => {
    const workflows = readWorkflows();
    assert.ok(workflows.some((w) => w.path === 'examples/skypilot-deploy.yml'));
    assert.deepEqual(reusableCallFindings(workflows), []);
    assert.deepEqual(actionInputFindings(workflows, readActionSpec()), []);
  });
});
