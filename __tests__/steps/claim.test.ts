import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeClaimPlan,
  isOwnedByAction,
  planClaim,
  planOwnedClaim,
  type Claim,
  type ClaimPlan,
  type OwnedClaimTarget,
} from '../../src/steps/claim.js';

const target: OwnedClaimTarget = {
  namespace: 'skypilot',
  name: 'skypilot-state',
  volumeName: 'sky-api-server-pv',
  storageClassName: 'skyha-static',
  size: '10Gi',
};

const OURS = { 'app.kubernetes.io/managed-by': 'skyha-action' };
const HELMS = { 'app.kubernetes.io/managed-by': 'Helm' };
const KEEP = { 'helm.sh/resource-policy': 'keep' };

function claim(options: {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  volumeName?: string;
  storageClassName?: string;
  phase?: string;
}): Claim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
    },
    spec: {
      storageClassName: options.storageClassName ?? target.storageClassName,
      ...(options.volumeName ? { volumeName: options.volumeName } : {}),
    },
    ...(options.phase ? { status: { phase: options.phase } } : {}),
  };
}

const bound = { volumeName: target.volumeName, phase: 'Bound' };

describe('planOwnedClaim: on charts with storage.existingClaim the action owns the claim', () => {
  const cases: Array<{
    name: string;
    observed: Claim | undefined;
    action: ClaimPlan['action'];
    reason: RegExp;
  }> = [
    {
      name: 'absent: created pre-bound',
      observed: undefined,
      action: 'create',
      reason: /pre-bound to sky-api-server-pv/,
    },
    {
      name: 'ours and Bound to the volume: nothing to do',
      observed: claim({ labels: OURS, annotations: KEEP, ...bound }),
      action: 'bound',
      reason: /bound to sky-api-server-pv/,
    },
    {
      name: 'ours, pre-bound but still Pending: the deploy binds it',
      observed: claim({ labels: OURS, annotations: KEEP, volumeName: target.volumeName, phase: 'Pending' }),
      action: 'bind',
      reason: /Pending yet/,
    },
    {
      name: "the chart's claim (an older chart made it), Bound to the volume: adopted",
      observed: claim({ labels: HELMS, ...bound }),
      action: 'adopt',
      reason: /made before/,
    },
    {
      name: "made by hand, not yet bound, of the volume's class: adopted",
      observed: claim({}),
      action: 'adopt',
      reason: /made before/,
    },
    {
      name: 'ours but without the keep annotation (edited by hand): adopted again',
      observed: claim({ labels: OURS, ...bound }),
      action: 'adopt',
      reason: /helm keeps it/,
    },
    {
      name: 'bound to another volume: refused, it cannot move',
      observed: claim({ labels: OURS, annotations: KEEP, volumeName: 'other-pv', phase: 'Bound' }),
      action: 'refuse',
      reason: /is bound to volume other-pv, not to sky-api-server-pv/,
    },
    {
      name: 'unbound, of another class: refused, it can never bind the volume',
      observed: claim({ storageClassName: 'standard-rwo' }),
      action: 'refuse',
      reason: /asks for storage class 'standard-rwo', not the volume's 'skyha-static'/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planOwnedClaim(target, c.observed);
      assert.equal(plan.action, c.action);
      assert.match(plan.reason, c.reason);
    });
  }

  test('the claim it creates is pre-bound to the volume, its class and size, labelled as its own, kept by helm', () => {
    const plan = planOwnedClaim(target, undefined);
    assert.equal(plan.action, 'create');
    assert.deepEqual(plan.action === 'create' && plan.manifest, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'skypilot-state', namespace: 'skypilot', labels: OURS, annotations: KEEP },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'skyha-static',
        volumeName: 'sky-api-server-pv',
        resources: { requests: { storage: '10Gi' } },
      },
    });
    assert.ok(isOwnedByAction(plan.action === 'create' ? plan.manifest : undefined));
  });

  test('adopting patches only the label and the keep annotation', () => {
    const plan = planOwnedClaim(target, claim({ labels: HELMS, ...bound }));
    assert.deepEqual(plan.action === 'adopt' && plan.patch, {
      metadata: { labels: OURS, annotations: KEEP },
    });
  });

  test('a claim of another class: the hint says how to free the name and that the volume keeps the disk', () => {
    const plan = planOwnedClaim(target, claim({ storageClassName: 'standard-rwo' }));
    assert.equal(plan.action, 'refuse');
    assert.match(
      plan.action === 'refuse' ? plan.hint : '',
      /kubectl delete pvc skypilot-state -n skypilot; the Retain volume keeps the disk/,
    );
  });
});

describe("planClaim: on charts without existingClaim the claim is the chart's", () => {
  const volume = target.volumeName;
  const cases: Array<{
    name: string;
    observed: Claim | undefined;
    releaseExists: boolean;
    action: ClaimPlan['action'];
    reason: RegExp;
  }> = [
    {
      name: 'absent, no release: the release creates it',
      observed: undefined,
      releaseExists: false,
      action: 'bind',
      reason: /created by the release/,
    },
    {
      name: 'absent while the release exists: repaired',
      observed: undefined,
      releaseExists: true,
      action: 'repair',
      reason: /its claim skypilot\/skypilot-state is missing/,
    },
    {
      name: "the chart's, Bound to the volume",
      observed: claim({ labels: HELMS, ...bound }),
      releaseExists: true,
      action: 'bound',
      reason: /bound to sky-api-server-pv/,
    },
    {
      name: "the chart's, Pending",
      observed: claim({ labels: HELMS, phase: 'Pending' }),
      releaseExists: true,
      action: 'bind',
      reason: /Pending yet/,
    },
    {
      name: "the chart's, bound to another volume: refused",
      observed: claim({ labels: HELMS, volumeName: 'other-pv', phase: 'Bound' }),
      releaseExists: true,
      action: 'refuse',
      reason: /is bound to volume other-pv, not to sky-api-server-pv/,
    },
    {
      name: "the action's own (a chart with existingClaim deployed it): refused, helm could not take it over",
      observed: claim({ labels: OURS, annotations: KEEP, ...bound }),
      releaseExists: true,
      action: 'refuse',
      reason:
        /is the action's own .* but chart skypilot-nightly 1\.0\.0-dev\.20250218 has no storage\.existingClaim/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planClaim(
        target,
        c.observed,
        volume,
        c.releaseExists,
        'chart skypilot-nightly 1.0.0-dev.20250218',
      );
      assert.equal(plan.action, c.action);
      assert.match(plan.reason, c.reason);
    });
  }

  test("the downgrade's hint names chart-version and a chart with storage.existingClaim", () => {
    const plan = planClaim(target, claim({ labels: OURS, annotations: KEEP, ...bound }), volume, true);
    assert.equal(plan.action, 'refuse');
    assert.match(
      plan.action === 'refuse' ? plan.hint : '',
      /Keep a chart-version whose chart has storage\.existingClaim.*nothing was changed/,
    );
  });

  test('describeClaimPlan says what and why, or the refusal', () => {
    assert.equal(
      describeClaimPlan({ action: 'bind', reason: 'created by the release' }),
      'bind (created by the release)',
    );
    assert.equal(describeClaimPlan({ action: 'refuse', reason: 'no', hint: 'h' }), 'refuse: no');
  });
});
