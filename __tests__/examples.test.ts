import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseValuesFiles } from '../src/config/values.js';
import { repoRoot } from '../standins/runner.js';

// The examples users copy: the workflows into .github/workflows/, examples/deploy/ into deploy/.
interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  if?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, string>;
  permissions?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, { paths?: string[]; inputs?: Record<string, unknown> } | null>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const example = (name: string): Workflow =>
  parse(fs.readFileSync(path.join(repoRoot, 'examples', name), 'utf8')) as Workflow;

const REUSABLE = './.github/workflows/skypilot-deploy.yml';
const reusable = example('skypilot-deploy.yml');
const deploy = example('deploy.yml');
const recover = example('recover.yml');
const drill = example('dr-drill.yml');

const actionStep = (workflow: Workflow): Step => {
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps ?? []);
  const step = steps.find((s) => s.uses?.includes('/skyha-action@'));
  assert.ok(step, 'no step runs the action');
  return step;
};

/** What the reusable workflow reads from the repository: the values files and the chart version file. */
const configFiles = (): string[] => {
  const values = String(actionStep(reusable).with?.['values-files'] ?? '')
    .split(/[\n,]/)
    .map((f) => f.trim())
    .filter(Boolean);
  const chart = (reusable.jobs.skypilot?.steps ?? []).find((s) => s.id === 'chart')?.run ?? '';
  return [...values, ...[...chart.matchAll(/deploy\/[\w.-]+/g)].map((m) => m[0])];
};

describe('one configuration for the three workflows', () => {
  it('deploy.yml and recover.yml call the one reusable workflow, with the same inputs and the same secrets', () => {
    const calls = [deploy.jobs.deploy, recover.jobs.plan, recover.jobs.deploy];
    for (const call of calls) assert.equal(call?.uses, REUSABLE);
    const keys = calls.map((call) => Object.keys(call!.with ?? {}).sort());
    assert.deepEqual(keys[1], keys[0]);
    assert.deepEqual(keys[2], keys[0]);
    assert.deepEqual(recover.jobs.plan!.secrets, deploy.jobs.deploy!.secrets);
    assert.deepEqual(recover.jobs.deploy!.secrets, deploy.jobs.deploy!.secrets);
  });

  it('the reusable workflow checks out the repository and deploys its values files and chart version', () => {
    const steps = reusable.jobs.skypilot?.steps ?? [];
    const at = (match: (s: Step) => boolean): number => steps.findIndex(match);
    assert.ok(at((s) => s.uses?.startsWith('actions/checkout@') === true) < at((s) => s.id === 'chart'));
    assert.deepEqual(configFiles(), ['deploy/skypilot-values.yaml', 'deploy/skypilot-chart-version']);
    assert.equal(actionStep(reusable).with?.['chart-version'], '${{ steps.chart.outputs.version }}');
  });

  it('the drill restores what production runs: the same disk, release, address, values and chart version', () => {
    const drillWith = actionStep(drill).with ?? {};
    const resolve = (value: unknown): unknown =>
      typeof value === 'string'
        ? value.replace(/\$\{\{ env\.(\w+) \}\}/, (_, name: string) => drill.env?.[name] ?? '')
        : value;
    for (const input of ['disk-name', 'release-name', 'static-ip', 'values-files', 'chart-version'])
      assert.equal(resolve(drillWith[input]), actionStep(reusable).with?.[input], input);
  });

  it('deploy.yml runs on a push of exactly the configuration: the values, the chart version and the workflows', () => {
    const paths = deploy.on.push?.paths ?? [];
    for (const file of configFiles()) assert.ok(paths.includes(file), `${file} is not in deploy.yml's paths`);
    for (const workflow of ['deploy.yml', 'skypilot-deploy.yml'])
      assert.ok(paths.includes(`.github/workflows/${workflow}`), workflow);
    assert.equal(paths.length, configFiles().length + 2, paths.join(', '));
  });

  it('examples/deploy/ holds every file the workflows read, and the action accepts the values', () => {
    for (const file of configFiles())
      assert.ok(fs.existsSync(path.join(repoRoot, 'examples', file)), `examples/${file}`);
    const workspace = { GITHUB_WORKSPACE: path.join(repoRoot, 'examples') };
    const { values } = parseValuesFiles('deploy/skypilot-values.yaml', workspace);
    assert.ok(values.length === 1 && Object.keys(values[0]!).length > 0);
    const version = fs.readFileSync(path.join(repoRoot, 'examples/deploy/skypilot-chart-version'), 'utf8');
    assert.match(version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\n$/);
  });
});

describe('the recovery', () => {
  it('takes the cluster, its location, the disk zone and a snapshot as inputs; deploy.yml takes them from variables', () => {
    const inputs = Object.keys(recover.on.workflow_dispatch?.inputs ?? {});
    assert.deepEqual(inputs, ['cluster', 'cluster-location', 'zone', 'snapshot']);
    const where = deploy.jobs.deploy!.with!;
    assert.equal(where.cluster, '${{ vars.GKE_CLUSTER }}');
    assert.equal(where['cluster-location'], '${{ vars.GKE_LOCATION }}');
    assert.equal(recover.jobs.deploy!.with!.cluster, '${{ inputs.cluster }}');
    assert.equal(recover.jobs.deploy!.with!['create-disk'], 'never');
  });

  it('plans without approval, then deploys behind production only when the plan has changes', () => {
    const { plan, deploy: apply } = recover.jobs;
    assert.equal(plan!.with!.mode, 'plan');
    assert.equal(plan!.with!.environment, '');
    assert.equal(apply!.with!.mode, 'deploy');
    assert.equal(apply!.with!.environment, 'production');
    assert.equal(apply!.needs, 'plan');
    assert.equal(apply!.if, "needs.plan.outputs.changes == 'true'");
    assert.equal(reusable.jobs.skypilot && 'environment' in reusable.jobs.skypilot, true);
  });

  it("tells the user to point the repository variables at the new cluster, without the workflow's token", () => {
    const next = recover.jobs['next-steps']!;
    assert.deepEqual(next.permissions, {});
    const run = next.steps?.map((s) => s.run ?? '').join('\n') ?? '';
    for (const name of ['GKE_CLUSTER', 'GKE_LOCATION', 'DISK_ZONE'])
      assert.match(run, new RegExp(`gh variable set ${name}`));
  });
});

describe('the drill', () => {
  const steps = drill.jobs.drill?.steps ?? [];
  const index = (match: (s: Step) => boolean, what: string): number => {
    const i = steps.findIndex(match);
    assert.ok(i >= 0, what);
    return i;
  };

  it('finds a READY snapshot before it creates the cluster, one cluster per attempt, deleted always', () => {
    const check = index((s) => /gcloud compute snapshots list/.test(s.run ?? ''), 'the snapshot check');
    const create = index((s) => /gcloud container clusters create/.test(s.run ?? ''), 'the cluster');
    const remove = index((s) => /gcloud container clusters delete/.test(s.run ?? ''), 'the deletion');
    assert.ok(check < create && create < remove);
    assert.match(steps[check]!.run!, /status=READY/);
    assert.match(drill.env?.DRILL_CLUSTER ?? '', /github\.run_id.*github\.run_attempt/);
    assert.match(steps[remove]!.if ?? '', /^always\(\)/);
  });

  it('opens or updates an issue when it fails, with the only job that may write issues', () => {
    const report = drill.jobs.report!;
    assert.equal(report.needs, 'drill');
    assert.equal(report.if, 'always()');
    assert.deepEqual(report.permissions, { issues: 'write' });
    assert.match(report.steps?.[0]?.run ?? '', /gh issue create/);
    const writers = Object.entries(drill.jobs).filter(([, job]) => job.permissions?.issues === 'write');
    assert.deepEqual(
      writers.map(([name]) => name),
      ['report'],
    );
  });

  it('keeps its schedule enabled from scheduled runs only', () => {
    const keepalive = drill.jobs.keepalive!;
    assert.equal(keepalive.if, "github.event_name == 'schedule'");
    assert.deepEqual(keepalive.permissions, { actions: 'write' });
    assert.match(keepalive.steps?.[0]?.run ?? '', /--method PUT .*\/enable/);
  });
});
