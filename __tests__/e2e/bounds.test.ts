import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { at } from '../../src/lib/json.js';
import { realBinaries } from '../../standins/binaries.js';
import { processesOf, type ActionRun } from '../../standins/runner.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import {
  assertNoSecret,
  assertStateIntact,
  clearLogs,
  computeWrites,
  holdHelmWrites,
  kubeWrites,
  ok,
  revisions,
} from '../support/e2e.js';

// Every run ends, on time, with a clear answer: hung API calls, a Deployment without pods, cancellation, a
// killed run, two runs at once. Each case checks the state it leaves and that a rerun converges.

/** A short timeout, so a hang costs the test little; the runner would kill the run 10 s after it. */
const TIMEOUT = { timeout: '45s' };
const RUNNER_KILLS_AFTER_MS = 55_000;

function leases(world: LocalWorld): Record<string, unknown>[] {
  return world.kube.list('coordination.k8s.io/v1', 'Lease', 'skypilot');
}

/** What must hold after a run that failed or was stopped: it said why, wrote its summary, left nothing behind. */
function assertEndedCleanly(run: ActionRun, error: RegExp): void {
  assert.equal(
    run.code,
    1,
    `the run must end by itself with an error, not be killed:\n${run.stdout.slice(-3000)}`,
  );
  assert.match(run.errors[0] ?? '', error);
  assert.match(run.summary, /Failed: /, 'the summary was written');
  assert.deepEqual(
    run.leftInTemp.filter((f) => /values/.test(f)),
    [],
    'the values file with the htpasswd line is gone',
  );
  assertNoSecret(run, WORLD.password);
}

/** A changed chart value: the next deploy is a helm upgrade (and, once a rerun has made it, what is deployed). */
let generation = 0;
let deployed: Record<string, string> = {};
function changedValues(): Record<string, string> {
  generation += 1;
  deployed = { values: `apiService:\n  annotations:\n    generation: "${generation}"\n` };
  return deployed;
}

describe('every run ends on time with a clear answer (helm 4)', () => {
  let world: LocalWorld;
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
    ok(await world.run());
  });
  after(() => world.close());

  it('a request that never answers inside a helm call: the run ends by its timeout, naming the call', async () => {
    const hang = holdHelmWrites(world, Infinity);
    const values = changedValues();
    const failed = await world.start({ ...values, ...TIMEOUT }, {}, { timeoutMs: RUNNER_KILLS_AFTER_MS })
      .done;
    hang.release();
    assert.ok(hang.caught.length > 0, 'helm did reach the hung request');
    // helm 4's --timeout does not bound its apply requests: the action stops helm at the run's deadline.
    assertEndedCleanly(
      failed,
      /`helm upgrade --install skypilot .*` ran out of time during step helm: stopped after \d+ s, when the run's timeout was used up/,
    );
    assert.match(failed.stdout, /--- pods/, 'diagnostics ran in the reserve');
    assert.deepEqual(leases(world), [], 'the lock was released');
    assert.deepEqual(processesOf(path.join(world.runnerDir, 'temp')), [], 'no helm left running');
    const rerun = ok(await world.run(values));
    assert.match(revisions(world).at(-1) ?? '', / deployed$/);
    assert.equal(rerun.outputs['helm-revision'], revisions(world).at(-1)?.split(' ')[0]);
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run(values));
    assert.deepEqual(kubeWrites(world), [], 'and then it has converged');
  });

  it('a request that never answers inside a helm call outside its --timeout: the run stops helm at its deadline', async () => {
    // helm's --timeout bounds its waits, not the release reads before them: only the run's budget ends those.
    const hang = world.kube.inject({
      kind: 'hang',
      userAgent: /Helm/,
      method: 'GET',
      path: /\/namespaces\/skypilot\/secrets/,
      times: Infinity,
    });
    clearLogs(world);
    const values = changedValues();
    const failed = await world.start({ ...values, ...TIMEOUT }, {}, { timeoutMs: RUNNER_KILLS_AFTER_MS })
      .done;
    hang.release();
    assertEndedCleanly(
      failed,
      /`helm upgrade --install skypilot .*` ran out of time during step helm: stopped after \d+ s, when the run's timeout was used up/,
    );
    assert.deepEqual(
      kubeWrites(world).filter((w) => !/\/leases\//.test(w) && !/\/leases$/.test(w)),
      [],
      'nothing but the lock changed',
    );
    assert.deepEqual(leases(world), [], 'the lock was released');
    assert.deepEqual(processesOf(path.join(world.runnerDir, 'temp')), [], 'no helm left running');
    ok(await world.run(values));
    clearLogs(world);
    ok(await world.run(values));
    assert.deepEqual(kubeWrites(world), [], 'the rerun converges');
  });

  it("helm gets what is left of the run less a margin as --timeout, so a hook helm waits for ends by helm's own timeout", async () => {
    // helm on PATH at the asked version is used as it is (on a runner whose tool cache has none): a wrapper
    // records when it ran and its argv.
    const wrappers = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-helm-argv-'));
    const runnerDir = path.join(wrappers, 'runner');
    const argvLog = path.join(wrappers, 'argv.log');
    const real = (await realBinaries('helm4')).helm;
    fs.writeFileSync(
      path.join(wrappers, 'helm'),
      `#!/bin/sh\nprintf '%s %s\\n' "$(date +%s%3N)" "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    );
    // The pre-upgrade hook Job's watch never answers: only helm's --timeout bounds that wait.
    const hang = world.kube.inject({
      kind: 'hang',
      userAgent: /Helm/,
      method: 'GET',
      path: /\/namespaces\/skypilot\/jobs$/,
      query: /watch=true/,
      times: Infinity,
    });
    const values = changedValues();
    const spawnedAt = Date.now();
    const env = { PATH: `${wrappers}:${process.env.PATH ?? ''}` };
    const failed = await world.start({ ...values, ...TIMEOUT }, env, {
      timeoutMs: RUNNER_KILLS_AFTER_MS,
      runnerDir,
    }).done;
    hang.release();
    assert.ok(hang.caught.length > 0, 'helm waited for its hook Job');
    assertEndedCleanly(failed, /`helm upgrade --install skypilot .*` timed out during step helm/);
    assert.doesNotMatch(failed.errors[0] ?? '', /stopped after/, 'helm reported its own timeout first');

    // What helm got, against what the run had left when it started helm: the run's timeout (45 s) less its
    // reserve (a fifth) is the work's budget; of what is left of it, helm gets all but a tenth (2 to 15 s).
    const calls = fs
      .readFileSync(argvLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [at, ...argv] = line.split(' ');
        return { at: Number(at), argv: argv.join(' ') };
      });
    const first = calls[0]!;
    const template = calls.findLast((c) => c.argv.startsWith('template '))!;
    const upgrade = calls.find((c) => c.argv.startsWith('upgrade --install '))!;
    const given = Number(/ --timeout (\d+)s /.exec(upgrade.argv)?.[1]);
    const workMs = 45_000 - Math.min(25_000, 45_000 / 5);
    const helmSeconds = (leftMs: number): number =>
      Math.floor((leftMs - Math.min(15_000, Math.max(2_000, leftMs / 10))) / 1000);
    // The run started after it was spawned and before helm first ran; helm's timeout was set after its template.
    const most = helmSeconds(workMs - (template.at - first.at));
    const least = helmSeconds(workMs - (upgrade.at - spawnedAt));
    assert.ok(given >= least && given <= most, `--timeout ${given}s, not within ${least}..${most}s`);
    fs.rmSync(wrappers, { recursive: true, force: true });
    ok(await world.run(values));
    assert.match(revisions(world).at(-1) ?? '', / deployed$/);
  });

  it("a request that never answers inside the action's own reads: it ends on time, naming the call, nothing changed", async () => {
    const hang = world.kube.inject({
      kind: 'hang',
      userAgent: /skyha-action/,
      path: '/persistentvolumes/sky-api-server-pv',
      times: Infinity,
    });
    clearLogs(world);
    const failed = await world.start({ ...deployed, ...TIMEOUT }, {}, { timeoutMs: RUNNER_KILLS_AFTER_MS })
      .done;
    hang.release();
    assertEndedCleanly(
      failed,
      /during step observe: .*GET \/api\/v1\/persistentvolumes\/sky-api-server-pv (got no answer|ran out of time|timed out)/,
    );
    assert.deepEqual(kubeWrites(world), []);
    assert.deepEqual(computeWrites(world), []);
    clearLogs(world);
    ok(await world.run(deployed));
    assert.deepEqual(kubeWrites(world), [], 'the rerun finds everything as it was');
  });

  it('a Deployment without pods: the rollout wait ends on time, diagnostics do not wait for a pod, the rerun converges', async () => {
    await world.kube.configure({ deploymentsWithoutPods: ['skypilot-api-server'] });
    const values = changedValues();
    const failed = await world.start({ ...values, ...TIMEOUT }, {}, { timeoutMs: RUNNER_KILLS_AFTER_MS })
      .done;
    await world.kube.configure({ deploymentsWithoutPods: [] });
    assertEndedCleanly(
      failed,
      /ran out of time during step rollout: Deployment skypilot\/skypilot-api-server did not become available in time/,
    );
    assert.match(
      failed.stdout,
      /--- last log lines of deploy\/skypilot-api-server\n\(no pod of deploy\/skypilot-api-server exists, so no logs\)/,
    );
    assert.doesNotMatch(failed.stdout, /\$ kubectl /, 'no kubectl process (none would wait for a pod)');
    assert.deepEqual(leases(world), []);
    ok(await world.run(values));
    assert.match(revisions(world).at(-1) ?? '', / deployed$/);
    assertStateIntact(world);
  });

  it('SIGTERM during the helm upgrade: helm is stopped, no secret file is left, the summary says so', async () => {
    const hang = holdHelmWrites(world);
    const values = changedValues();
    const running = world.start(values);
    await hang.firstCaught();
    const withSecrets = fs
      .readdirSync(running.temp, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(running.temp, f))
      .filter(
        (f) => fs.statSync(f).isFile() && /skypilot:\$apr1\$|demo-Pa55word/.test(fs.readFileSync(f, 'utf8')),
      );
    assert.deepEqual(withSecrets, [], 'helm is mid-upgrade, its values on its standard input, in no file');
    running.signal('SIGTERM');
    const cancelled = await running.done;
    hang.release();
    assertEndedCleanly(
      cancelled,
      /^skyha-action failed: cancelled \(SIGTERM\) during step helm; a rerun converges$/,
    );
    assert.match(cancelled.summary, /cancelled \(SIGTERM\) during step helm; a rerun converges/);
    assert.deepEqual(processesOf(running.temp), [], 'helm and its children are gone');
    assert.deepEqual(leases(world), [], 'the lock was released');
    ok(await world.run(values));
    assert.match(revisions(world).at(-1) ?? '', / deployed$/);
    assertStateIntact(world);
  });

  it('SIGTERM, then SIGKILL while the lock is being released: no scratch file is left in RUNNER_TEMP', async () => {
    const helmHang = holdHelmWrites(world);
    const releaseHang = world.kube.inject({
      kind: 'hang',
      userAgent: /skyha-action/,
      method: 'DELETE',
      path: '/leases/skyha-skypilot',
    });
    const values = changedValues();
    const running = world.start(values);
    await helmHang.firstCaught();
    const scratch = () => fs.readdirSync(running.temp).filter((f) => /^skyha-(chart|values)-/.test(f));
    assert.ok(
      scratch().some((f) => f.startsWith('skyha-chart-')),
      'the pulled chart is in RUNNER_TEMP',
    );
    running.signal('SIGTERM');
    await releaseHang.firstCaught();
    running.killTree();
    assert.equal((await running.done).code, null, 'killed during the lock release');
    assert.deepEqual(scratch(), [], 'nothing the run wrote is left');
    helmHang.release();
    releaseHang.release();
    // The killed run's Lease (if the held DELETE did not remove it) is taken over once unchanged for its duration.
    const left = leases(world)[0];
    if (left) world.kube.put({ ...left, spec: { ...(left.spec as object), leaseDurationSeconds: 2 } });
    ok(await world.run(values));
    assert.match(revisions(world).at(-1) ?? '', / deployed$/);
    assertStateIntact(world);
  });

  it('SIGKILL during the install: the next run waits out the lock, frees the release itself, and installs', async () => {
    await world.loseCluster();
    const hang = holdHelmWrites(world);
    const killed = world.start();
    await hang.firstCaught();
    killed.killTree();
    assert.equal((await killed.done).code, null);
    assert.deepEqual(revisions(world), ['1 pending-install'], 'helm was killed mid-install');
    const dead = leases(world)[0];
    assert.match(String(at(dead, 'spec', 'holderIdentity')), /^example\/platform run 4242 attempt 1 /);

    const next = world.start({}, { GITHUB_RUN_ATTEMPT: '2' });
    await next.waitForOutput(
      /Waiting for the lock of Helm release skypilot\/skypilot: .* held by example\/platform run 4242 attempt 1 /,
    );
    // The killed run renews nothing: the waiter takes the Lease over once its record has stayed unchanged for the
    // lease duration, by the waiter's clock (shortened here to 2 s, so that the test does not wait a minute).
    world.kube.put({ ...dead!, spec: { ...(dead!.spec as object), leaseDurationSeconds: 2 } });
    const freed = ok(await next.done);
    assert.match(
      freed.stdout,
      /Took over the expired lock of Helm release skypilot\/skypilot from example\/platform run 4242 attempt 1 /,
    );
    assert.match(
      freed.summary,
      /Freed Helm release skypilot\/skypilot: revision 1 .* is pending-install.*uninstalled it/,
    );
    assert.equal(freed.outputs['helm-revision'], '1');
    assert.equal(freed.outputs.restored, 'true');
    assert.deepEqual(revisions(world), ['1 deployed']);
    assert.deepEqual(leases(world), []);
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), [], 'the rerun converges');
  });
});

describe('two runs started 100 ms apart against one release', () => {
  let world: LocalWorld;
  const runners: string[] = [];
  before(async () => {
    world = await startLocalWorld({ flavour: 'helm4' });
  });
  after(async () => {
    await world.close();
    for (const dir of runners) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one installs, the other waits for its lock and then finds nothing to do; one release revision', async () => {
    // The first install holds still until the other run is seen waiting: no reliance on timing.
    const hang = holdHelmWrites(world);
    const start = (runId: string) => {
      const runnerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-runner-'));
      runners.push(runnerDir);
      return world.start({}, { GITHUB_RUN_ID: runId }, { runnerDir });
    };
    const a = start('5001');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const b = start('5002');
    await hang.firstCaught();
    const waiting = await Promise.race([
      a.waitForOutput(/Waiting for the lock/).then(() => 'a'),
      b.waitForOutput(/Waiting for the lock/).then(() => 'b'),
    ]);
    hang.release();
    const [runA, runB] = [ok(await a.done), ok(await b.done)];
    const [holder, waiter] = waiting === 'a' ? [runB, runA] : [runA, runB];
    const holderRun = waiting === 'a' ? '5002' : '5001';
    assert.match(waiter.stdout, new RegExp(`held by example/platform run ${holderRun} attempt 1 `));
    assert.match(waiter.stdout, /Observing everything again after waiting for /);
    assert.deepEqual(revisions(world), ['1 deployed'], 'one release revision');
    assert.deepEqual(
      [holder.outputs['disk-created'], holder.outputs['pv-created'], holder.outputs['helm-revision']],
      ['true', 'true', '1'],
    );
    assert.deepEqual(
      [waiter.outputs['disk-created'], waiter.outputs['pv-created'], waiter.outputs['helm-revision']],
      ['false', 'false', '1'],
      'the waiter reports what it did: nothing but finding them',
    );
    assert.equal(waiter.outputs['server-url'], holder.outputs['server-url']);
    assert.deepEqual(leases(world), []);
    assertStateIntact(world);
    clearLogs(world);
    ok(await world.run());
    assert.deepEqual(kubeWrites(world), [], 'a third run converges');
  });
});
