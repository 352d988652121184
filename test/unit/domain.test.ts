import { fleetMarkdown, fleetVerdict } from '../../src/domain/fleet.js';
import { describe, expect, it } from 'vitest';
import {
  refuseAbort,
  refuseApprove,
  refuseClusterDecision,
  refusePause,
  refuseResume,
} from '../../src/domain/controls.js';
import {
  abortTargets,
  clustersToStart,
  initialStatus,
  rollbackTargets,
  tallyPhase,
} from '../../src/domain/progress.js';
import type { ClusterState, RolloutStatus } from '../../src/domain/types.js';
import { testInput } from '../helpers/plans.js';
import { gateApproved, unmetRequirements } from '../../src/domain/approvals.js';
import { ApprovalPolicy } from '../../src/plan/schema.js';
import { groupLine } from '../../src/domain/diff.js';
import {
  heldClusters,
  heldMessage,
  invalidLockRequest,
  lockDetails,
  releaseClusters,
  takeClusters,
  type LockTable,
} from '../../src/domain/locks.js';

/** A rollout that has taken its clusters and walks its phases. */
function status(): RolloutStatus {
  const s = initialStatus(
    'r1',
    testInput([
      { name: 'canary', clusters: ['a'], approval: 'auto' },
      { name: 'wave', clusters: ['b', 'c', 'd'], maxParallel: 2, maxFailures: 1 },
    ]),
    '2026-01-01T00:00:00Z',
  );
  return { ...s, state: 'running' };
}

function set(s: RolloutStatus, states: Record<string, ClusterState>) {
  for (const c of s.clusters) if (states[c.name]) c.state = states[c.name] as ClusterState;
}

const wave = (s: RolloutStatus) => s.phases[1]!;

describe('phase progress', () => {
  it('starts pending clusters in plan order up to maxParallel', () => {
    const s = status();
    expect(clustersToStart(s, wave(s)).map((c) => c.name)).toEqual(['b', 'c']);
    set(s, { b: 'running' });
    expect(clustersToStart(s, wave(s)).map((c) => c.name)).toEqual(['c']);
  });

  it('starts nothing while paused or not running', () => {
    const s = status();
    s.paused = true;
    expect(clustersToStart(s, wave(s))).toEqual([]);
    s.paused = false;
    s.state = 'awaiting-decision';
    expect(clustersToStart(s, wave(s))).toEqual([]);
  });

  it('tolerates maxFailures, then is over budget', () => {
    const s = status();
    set(s, { b: 'failed', c: 'succeeded', d: 'succeeded' });
    expect(tallyPhase(s, wave(s)).outcome).toBe('succeeded');
    set(s, { c: 'failed' });
    expect(tallyPhase(s, wave(s)).outcome).toBe('over-budget');
    expect(clustersToStart(s, wave(s))).toEqual([]);
  });

  it('counts skipped clusters as done, not failed', () => {
    const s = status();
    set(s, { b: 'skipped', c: 'succeeded', d: 'skipped' });
    expect(tallyPhase(s, wave(s)).outcome).toBe('succeeded');
  });
});

describe('rollback targets', () => {
  it('are the changed clusters in scope, newest change first, with snapshots', () => {
    const s = status();
    const snap = { operator: null, chart: null, takenAt: 'x' };
    s.clusters.forEach((c, i) => Object.assign(c, { seq: i + 1, snapshot: snap, state: 'succeeded' }));
    set(s, { d: 'pending' });
    s.clusters[3]!.seq = undefined;
    expect(rollbackTargets(s, 'phase', 'wave').map((c) => c.name)).toEqual(['c', 'b']);
    expect(rollbackTargets(s, 'all', 'wave').map((c) => c.name)).toEqual(['c', 'b', 'a']);
    set(s, { c: 'skipped' });
    expect(rollbackTargets(s, 'all', 'wave').map((c) => c.name)).toEqual(['b', 'a']);
  });

  it('for an abort are only the half-done clusters: failed or cancelled after their snapshot', () => {
    const s = status();
    const snap = { operator: null, chart: null, takenAt: 'x' };
    s.clusters.forEach((c, i) => Object.assign(c, { seq: i + 1, snapshot: snap }));
    set(s, { a: 'succeeded', b: 'failed', c: 'cancelled', d: 'succeeded' });
    expect(abortTargets(s).map((c) => c.name)).toEqual(['c', 'b']);
  });
});

describe('control validators', () => {
  it('approve: unknown phase, auto phase, allow-list, twice, finished', () => {
    const s = status();
    expect(refuseApprove(s, undefined, { phase: 'x', by: 'a' })).toMatch(/unknown phase "x"/);
    expect(refuseApprove(s, undefined, { phase: 'canary', by: 'a' })).toMatch(/does not require approval/);
    expect(refuseApprove(s, ['bob'], { phase: 'wave', by: 'eve' })).toMatch(/eve is not among/);
    expect(refuseApprove(s, ['bob'], { phase: 'wave', by: 'bob' })).toBeUndefined();
    wave(s).approvedBy = { phase: 'wave', by: 'bob', at: 'x' };
    expect(refuseApprove(s, undefined, { phase: 'wave', by: 'bob' })).toMatch(/already approved by bob/);
    s.state = 'succeeded';
    expect(refuseApprove(s, undefined, { phase: 'wave', by: 'bob' })).toMatch(/already finished/);
  });

  it('pause and abort are open to anyone; resume is not', () => {
    const s = status();
    expect(refusePause(s, { by: 'eve' })).toBeUndefined();
    expect(refuseAbort(s, { by: 'eve', reason: 'fire' })).toBeUndefined();
    s.paused = true;
    expect(refusePause(s, { by: 'eve' })).toMatch(/already paused/);
    expect(refuseResume(s, ['bob'], { by: 'eve' })).toMatch(/not among/);
    expect(refuseResume(s, ['bob'], { by: 'bob' })).toBeUndefined();
  });

  it('retry and skip need a failed cluster of the phase in progress', () => {
    const s = status();
    s.currentPhase = 'wave';
    set(s, { a: 'failed', b: 'failed', c: 'running' });
    expect(refuseClusterDecision(s, undefined, { cluster: 'b', by: 'x' })).toBeUndefined();
    expect(refuseClusterDecision(s, undefined, { cluster: 'c', by: 'x' })).toMatch(/is running, not failed/);
    expect(refuseClusterDecision(s, undefined, { cluster: 'a', by: 'x' })).toMatch(/not the phase in progress/);
    expect(refuseClusterDecision(s, undefined, { cluster: 'z', by: 'x' })).toMatch(/unknown cluster/);
  });
});

describe('UI details', () => {
  it('puts commands in code spans, so a Markdown renderer leaves their -- alone', async () => {
    const { asCode } = await import('../../src/domain/summary.js');
    expect(asCode('phase "wave-1" awaits approval (rollout approve r1 --phase wave-1); diff abc')).toBe(
      'phase "wave-1" awaits approval (`rollout approve r1 --phase wave-1`); diff abc',
    );
    expect(asCode('decide for each: rollout retry r1 --cluster NAME (roll it back again)')).toBe(
      'decide for each: `rollout retry r1 --cluster NAME` (roll it back again)',
    );
  });

  it('puts what a tool or a cluster said in code spans too, so its -- and quotes are not typeset', async () => {
    const { asCode } = await import('../../src/domain/summary.js');
    const error = 'upgrade failed: helm upgrade: Error: "x" is invalid; use --debug (see `helm help`)';
    expect(asCode(`waiting for a decision (retry, skip, rollback or abort): lab-1: ${error}`, [error])).toBe(
      'waiting for a decision (retry, skip, rollback or abort): lab-1: ``upgrade failed: helm upgrade: Error: "x" is invalid; use --debug (see `helm help`)``',
    );
  });
});

describe('approval policies', () => {
  const policy = ApprovalPolicy.parse({
    minApprovals: 2,
    required: ['alice', 'group:sre'],
    groups: { sre: ['bob', 'carol'] },
  });
  const by = (...names: string[]) => names.map((n) => ({ phase: 'wave', by: n, at: '2026-01-01T00:00:00Z' }));

  it('needs every named person and one member of every named group', () => {
    expect(gateApproved(policy, by('alice'))).toBe(false);
    expect(unmetRequirements(policy, by('alice', 'dave'))).toEqual(['group:sre']);
    expect(gateApproved(policy, by('alice', 'dave'))).toBe(false);
    expect(gateApproved(policy, by('carol', 'dave'))).toBe(false);
    expect(gateApproved(policy, by('alice', 'carol'))).toBe(true);
  });

  it('still counts distinct people toward minApprovals', () => {
    expect(gateApproved({ ...policy, required: ['group:sre'] }, by('bob'))).toBe(false);
    expect(gateApproved({ ...policy, required: ['group:sre'] }, by('bob', 'bob'))).toBe(false);
    expect(gateApproved({ ...policy, required: ['group:sre'] }, by('bob', 'erin'))).toBe(true);
  });
});

describe('lock table', () => {
  const a = { rollout: 'rollout-a', runId: 'run-1' };
  const b = { rollout: 'rollout-b', runId: 'run-2' };
  const now = '2026-12-02T00:00:00.000Z';

  it('grants all the clusters or none, and names who holds the others', () => {
    const table: LockTable = { holders: [] };
    expect(takeClusters(table, { owner: a, clusters: ['c1', 'c2'] }, now)).toEqual({ granted: true });
    expect(takeClusters(table, { owner: b, clusters: ['c3', 'c2'] }, now)).toEqual({
      granted: false,
      held: [{ ...a, since: now, clusters: ['c2'] }],
    });
    expect(heldClusters(table).map((h) => [h.cluster, h.rollout])).toEqual([
      ['c1', 'rollout-a'],
      ['c2', 'rollout-a'],
    ]);
  });

  it('grants a retry by the same run, but not a later run of the same rollout', () => {
    const table: LockTable = { holders: [] };
    takeClusters(table, { owner: a, clusters: ['c1'] }, now);
    expect(takeClusters(table, { owner: a, clusters: ['c1'] }, 'later')).toEqual({ granted: true });
    expect(heldClusters(table, ['c1'])[0]?.since).toBe(now);
    expect(takeClusters(table, { owner: { ...a, runId: 'run-9' }, clusters: ['c1'] }, now).granted).toBe(false);
  });

  it('gives back only what the run holds, and reclaims what a closed run held before granting', () => {
    const table: LockTable = { holders: [] };
    takeClusters(table, { owner: a, clusters: ['c1', 'c2'] }, now);
    takeClusters(table, { owner: b, clusters: ['c3'] }, now);
    expect(releaseClusters(table, { ...a, runId: 'other' })).toBe(0);
    expect(takeClusters(table, { owner: b, clusters: ['c1'], reclaim: [a] }, now)).toEqual({ granted: true });
    expect(heldClusters(table).map((h) => [h.cluster, h.rollout])).toEqual([
      ['c3', 'rollout-b'],
      ['c1', 'rollout-b'],
    ]);
    expect(releaseClusters(table, b)).toBe(2);
    expect(table.holders).toEqual([]);
  });

  it('names what is wrong with a malformed request', () => {
    expect(invalidLockRequest({ owner: { rollout: 'r', runId: '' }, clusters: ['c1'] }, true)).toMatch(/runId/);
    expect(invalidLockRequest({ owner: a, clusters: [] }, true)).toMatch(/non-empty/);
    expect(invalidLockRequest({ owner: a, clusters: ['c1', 7] }, true)).toBe('clusters: 7 is not a cluster name');
    expect(invalidLockRequest({ owner: a }, false)).toBeUndefined();
  });

  it('says who holds what in a few lines, and why a start is refused, at any size', () => {
    const table: LockTable = { holders: [] };
    const many = Array.from({ length: 12 }, (_, i) => `c${i + 1}`);
    takeClusters(table, { owner: a, clusters: many }, now);
    expect(lockDetails(table)).toBe(
      '**held clusters**: 12, by 1 rollout\n\n- `rollout-a`: 12 clusters (c1, c2, c3, c4, c5, and 7 more)',
    );
    expect(lockDetails({ holders: [] })).toBe('**held clusters**: none');
    expect(heldMessage(table.holders)).toBe(
      `clusters already taken by another running rollout: ${many
        .slice(0, 10)
        .map((c) => `${c} (held by rollout-a)`)
        .join(', ')}, and 2 more`,
    );
  });

  it("keeps 10,000 held clusters, and a refusal naming all of them, inside a payload's 512 kB warning line", () => {
    const table: LockTable = { holders: [] };
    const names = Array.from({ length: 10_000 }, (_, i) => `cluster-${String(i).padStart(5, '0')}`);
    const owner = { rollout: 'express-2.3.0-20261204-abcdef', runId: '0193a7c2-5b1e-7d4f-9a2b-3c4d5e6f7a8b' };
    expect(takeClusters(table, { owner, clusters: names }, now)).toEqual({ granted: true });
    const kB = (v: unknown) => Buffer.byteLength(JSON.stringify(v)) / 1024;
    // The locks query and the table carried across continue-as-new.
    expect(kB(table)).toBeLessThan(512);
    // The refusal of a second rollout asking for every one of them.
    const refused = takeClusters(table, { owner: { ...owner, runId: 'another-run' }, clusters: names }, now);
    expect(refused.granted).toBe(false);
    expect(kB(refused)).toBeLessThan(512);
    expect(heldClusters(table)).toHaveLength(10_000);
    expect(releaseClusters(table, owner)).toBe(10_000);
  });

  it('every workflow type clients name is one the worker registers, and the other way round', async () => {
    const workflows = await import('../../src/workflows/index.js');
    const { WorkflowType } = await import('../../src/domain/names.js');
    expect(Object.keys(workflows).sort()).toEqual(Object.values(WorkflowType).sort());
  });
});

describe('notification event IDs', () => {
  it('are unique per run of a rollout ID and the same for every redelivery of one event', async () => {
    const { eventId, notificationWorkflowId } = await import('../../src/domain/notifications.js');
    const first = { id: 'rollout-lab-2.1.0', runId: 'run-a' };
    const again = { id: 'rollout-lab-2.1.0', runId: 'run-b' }; // aborted, then started again under the same ID
    expect(eventId(first, 1)).toBe('rollout-lab-2.1.0/run-a/1');
    expect(eventId(first, 1), 'a redelivery').toBe(eventId({ ...first }, 1));
    expect(eventId(again, 1)).not.toBe(eventId(first, 1));
    expect(notificationWorkflowId(again, 1)).not.toBe(notificationWorkflowId(first, 1));
  });
});

describe('diff groups', () => {
  it('name their release, so a reviewer reads the operator and the chart apart', () => {
    const summary = { added: {}, changed: { Deployment: 1 }, removed: {} };
    expect(groupLine({ digest: 'sha256:abcdef0123456789', release: 'operator', clusters: ['a', 'b'], summary })).toBe(
      'operator: a, b: 1 Deployment changed [abcdef012345]',
    );
    expect(
      groupLine({ digest: 'sha256:abcdef0123456789', clusters: ['c'], summary, error: 'context "x" is not known' }),
    ).toBe('c: diff unavailable: context "x" is not known [abcdef012345]');
  });
});

describe('the fleet verdict on releases Argo CD applies', () => {
  const row = (status: string) => ({
    cluster: 'lab-1',
    releases: {
      express: {
        desiredVersion: '2.1.0',
        desiredValues: 'sha256:a',
        version: '2.1.0',
        valuesDigest: 'sha256:a',
        status,
      },
    },
  });
  it('takes Synced/Healthy as in sync, OutOfSync as drift and Degraded as failed, in Argo CD’s words', () => {
    expect(fleetVerdict(row('Synced/Healthy'))).toEqual({ verdict: 'in-sync', reasons: [] });
    expect(fleetVerdict(row('OutOfSync/Healthy'))).toEqual({
      verdict: 'out-of-sync',
      reasons: ['express is OutOfSync/Healthy in Argo CD: live objects differ from its pinned sources'],
    });
    expect(fleetVerdict(row('Synced/Degraded'))).toEqual({
      verdict: 'failed',
      reasons: ['express is Synced/Degraded in Argo CD'],
    });
  });

  it('counts what is not in sync from the counts, not from the rows a check returns (at most 200 of them)', () => {
    const off = { ...row('OutOfSync/Healthy'), verdict: 'out-of-sync' as const, reasons: ['differs'] };
    const md = fleetMarkdown({
      plan: 'p',
      source: 'git',
      at: 'now',
      counts: { 'in-sync': 9_000, 'out-of-sync': 1_000 },
      total: 10_000,
      rows: Array.from({ length: 200 }, (_, i) => ({ ...off, cluster: `c${i}` })),
    });
    expect(md.split('\n')[0]).toBe('**drift**: 1000 out-of-sync, 9000 in-sync');
    expect(md).toContain('| ... | | 980 more not in sync |');
  });
});
