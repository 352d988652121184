import { describe, expect, it } from 'vitest';
import { abortTargets, initialStatus } from '../../src/domain/progress.js';
import { transition, voidedBecause, type RolloutChange } from '../../src/domain/rollout-machine.js';
import type { ClusterSnapshot, RolloutStatus } from '../../src/domain/types.js';
import { testInput } from '../helpers/plans.js';

const at = '2026-01-01T00:00:00Z';
const diff = { digest: 'sha256:aaaaaaaaaaaaaaaaaaaa', groups: [], at };
const snapshot: ClusterSnapshot = { releases: { operator: null, chart: null }, takenAt: at };

function started(): RolloutStatus {
  const s = initialStatus(
    'r1',
    testInput([
      { name: 'canary', clusters: ['a'], approval: 'auto' },
      { name: 'wave', clusters: ['b', 'c'], approval: 'required' },
    ]),
    at,
  );
  transition(s, { kind: 'clusters-taken', at });
  return s;
}

/** Applies events in order; returns every notice they called for. */
function run(s: RolloutStatus, ...events: RolloutChange[]) {
  return events.map((e) => transition(s, e)).filter((n) => n !== undefined);
}

const phase = (s: RolloutStatus, name: string) => s.phases.find((p) => p.name === name);
const cluster = (s: RolloutStatus, name: string) => s.clusters.find((c) => c.name === name);

describe('the rollout state machine', () => {
  it('starts in starting, runs once its clusters are taken, or ends failed when refused, saying why', () => {
    const s = initialStatus('r1', testInput([{ name: 'all', clusters: ['a'], approval: 'auto' }]), at);
    expect(s.state).toBe('starting');
    const refused = structuredClone(s);
    expect(run(refused, { kind: 'refused', reason: 'preflight found 1 problem(s)', at })).toEqual([
      { type: 'failed', summary: 'preflight found 1 problem(s)' },
    ]);
    expect([refused.state, refused.reason, refused.finishedAt]).toEqual(['failed', 'preflight found 1 problem(s)', at]);
    run(s, { kind: 'clusters-taken', at });
    expect([s.state, s.locksHeldAt]).toEqual(['running', at]);
  });

  it("keeps preflight's warnings in the status and repeats the first with a gate's reason", () => {
    const s = started();
    const warning =
      'operator widget-operator 1.1.0: crds: skip: its CRDs in crds/ (w.example.dev) differ from those of a';
    run(s, { kind: 'preflight-passed', warnings: [warning, 'cluster c did not say its version'] });
    expect(s.warnings).toHaveLength(2);
    run(
      s,
      { kind: 'phase-entered', phase: 'wave' },
      { kind: 'gate-waiting', phase: 'wave', why: '', approveCommand: 'rollout approve r1 --phase wave' },
    );
    expect(s.reason).toBe(
      `phase "wave" awaits approval (rollout approve r1 --phase wave); warning: ${warning} (and 1 more in status)`,
    );
    const quiet = started();
    run(quiet, { kind: 'preflight-passed', warnings: [] });
    expect(quiet.warnings).toBeUndefined();
  });

  it('waits at a gate showing the diff and the command, tells the sinks, and runs again once passed', () => {
    const s = started();
    const notices = run(
      s,
      { kind: 'phase-entered', phase: 'wave' },
      { kind: 'gate-diff', phase: 'wave', diff },
      { kind: 'gate-waiting', phase: 'wave', why: '', approveCommand: 'rollout approve r1 --phase wave' },
    );
    expect([s.currentPhase, s.state, phase(s, 'wave')?.state]).toEqual([
      'wave',
      'awaiting-approval',
      'awaiting-approval',
    ]);
    expect(s.reason).toMatch(/^phase "wave" awaits approval \(rollout approve r1 --phase wave\); /);
    expect(notices).toEqual([{ type: 'approval-needed', phase: 'wave', summary: s.reason, diff }]);
    // Approved: no longer waiting for a person while the gate checks the diff once more.
    const approval = { phase: 'wave', by: 'alice', at };
    run(s, {
      kind: 'decided',
      decision: { kind: 'approve', by: 'alice', at, phase: 'wave' },
      change: { kind: 'approve', approval, meetsPolicy: true },
    });
    expect([s.state, s.reason]).toEqual([
      'running',
      'phase "wave" approved by alice; its diff is checked once more before it starts',
    ]);
    run(s, { kind: 'gate-passed' });
    expect([s.state, s.reason]).toEqual(['running', undefined]);
  });

  it("voids an approval whose diff changed, recording it as the rollout's own decision", () => {
    const s = started();
    const approval = { phase: 'wave', by: 'alice', at, digest: 'sha256:aaaa' };
    run(s, {
      kind: 'decided',
      decision: { kind: 'approve', by: 'alice', at, phase: 'wave' },
      change: { kind: 'approve', approval, meetsPolicy: true },
    });
    expect(phase(s, 'wave')?.approvedBy).toEqual(approval);
    const why = voidedBecause('alice', 'sha256:aaaa', 'sha256:bbbb');
    run(s, { kind: 'approval-voided', phase: 'wave', why, at });
    expect([phase(s, 'wave')?.approvedBy, phase(s, 'wave')?.approvals]).toEqual([undefined, []]);
    expect(s.decisions.map((d) => [d.kind, d.by])).toEqual([
      ['approve', 'alice'],
      ['approval-void', 'rollout'],
    ]);
  });

  it('counts an approval that does not yet meet the policy without approving the gate', () => {
    const s = started();
    const approval = { phase: 'wave', by: 'alice', at };
    run(s, {
      kind: 'decided',
      decision: { kind: 'approve', by: 'alice', at },
      change: { kind: 'approve', approval, meetsPolicy: false },
    });
    expect([phase(s, 'wave')?.approvals, phase(s, 'wave')?.approvedBy]).toEqual([[approval], undefined]);
  });

  it('runs a cluster: started (attempts, order kept across retries), snapshot kept, then succeeded', () => {
    const s = started();
    run(
      s,
      { kind: 'cluster-started', cluster: 'a', workflowId: 'r1:a', seq: 1, at },
      { kind: 'snapshot-taken', cluster: 'a', snapshot },
      { kind: 'cluster-failed', cluster: 'a', error: 'verify failed: x', failedStep: 'verify-chart' },
      { kind: 'decided', decision: { kind: 'retry', by: 'bob', at }, change: { kind: 'retry', cluster: 'a' } },
      { kind: 'cluster-started', cluster: 'a', workflowId: 'r1:a:attempt-2', seq: 5, at },
      { kind: 'snapshot-taken', cluster: 'a', snapshot: { ...snapshot, takenAt: 'later' } },
      { kind: 'cluster-succeeded', cluster: 'a', skipped: ['upgrade-operator'] },
      { kind: 'cluster-settled', cluster: 'a', at },
    );
    expect(cluster(s, 'a')).toMatchObject({
      state: 'succeeded',
      attempts: 2,
      seq: 1,
      workflowId: 'r1:a:attempt-2',
      snapshot,
      skippedSteps: ['upgrade-operator'],
      error: undefined,
      finishedAt: at,
    });
  });

  it('a cluster in flight that finishes after an abort was accepted counts as cancelled, so it is restored', () => {
    const s = started();
    run(
      s,
      { kind: 'cluster-started', cluster: 'a', workflowId: 'r1:a', seq: 1, at },
      { kind: 'snapshot-taken', cluster: 'a', snapshot },
      { kind: 'decided', decision: { kind: 'abort', by: 'bob', at }, change: { kind: 'stop', stopping: 'abort' } },
      { kind: 'cluster-succeeded', cluster: 'a', skipped: [] },
    );
    expect(cluster(s, 'a')?.state).toBe('cancelled');
    expect(abortTargets(s).map((c) => c.name)).toEqual(['a']);
  });

  it('tells the sinks of a failed cluster, and asks once for a decision until one is made', () => {
    const s = started();
    const failed = run(s, {
      kind: 'cluster-failed',
      cluster: 'b',
      error: 'wait-cache failed: timeout',
      failedStep: 'wait-cache',
    });
    expect(failed).toEqual([
      { type: 'cluster-failed', cluster: 'b', phase: 'wave', summary: 'b: wait-cache failed: timeout' },
    ]);
    const asked = run(
      s,
      { kind: 'decision-needed', phase: 'wave', failed: 'b: timeout' },
      { kind: 'decision-needed', phase: 'wave', failed: 'b: timeout' },
    );
    expect(asked).toHaveLength(1);
    expect([s.state, s.reason]).toEqual([
      'awaiting-decision',
      'waiting for a decision (retry, skip, rollback or abort): b: timeout',
    ]);
    run(
      s,
      { kind: 'decided', decision: { kind: 'skip', by: 'bob', at }, change: { kind: 'skip', cluster: 'b' } },
      { kind: 'decision-settled' },
    );
    expect([cluster(s, 'b')?.state, s.state, s.reason]).toEqual(['skipped', 'running', undefined]);
  });

  it("bakes, then records what the bake measured after the cluster's own analyses", () => {
    const s = started();
    const rec = { name: 'errors', query: 'q', phase: 'successful' as const, measurements: [] };
    run(
      s,
      { kind: 'cluster-succeeded', cluster: 'a', skipped: [], analyses: [rec] },
      { kind: 'bake-started', phase: 'canary', until: at },
    );
    expect([s.state, phase(s, 'canary')?.state, phase(s, 'canary')?.bakeUntil]).toEqual(['baking', 'baking', at]);
    run(s, { kind: 'bake-ended', phase: 'canary', records: [{ cluster: 'a', records: [rec] }] });
    expect([s.state, phase(s, 'canary')?.state]).toEqual(['running', 'running']);
    expect(cluster(s, 'a')?.analyses?.map((r) => r.name)).toEqual(['errors', 'errors (bake)']);
  });

  it("a bake's verdict fails the cluster at the verification it names, with when and what the bake measured", () => {
    const s = started();
    const rec = { name: 'errors', query: 'q', phase: 'failed' as const, measurements: [] };
    run(s, { kind: 'cluster-succeeded', cluster: 'a', skipped: [] });
    const notices = run(s, {
      kind: 'cluster-failed',
      cluster: 'a',
      error: 'pods restarted',
      failedStep: 'verify-chart',
      at: 'later',
      analyses: [rec],
    });
    expect(cluster(s, 'a')).toMatchObject({
      state: 'failed',
      failedStep: 'verify-chart',
      finishedAt: 'later',
      analyses: [{ name: 'errors (bake)' }],
    });
    expect(notices.map((n) => n.type)).toEqual(['cluster-failed']);
  });

  it("shows a deploy window's wait once, and clears only a reason that was the window's", () => {
    const s = started();
    const line = 'waiting for window weekdays (opens 2026-01-02T08:00:00Z)';
    const waiting = {
      kind: 'window-waits' as const,
      phase: 'wave',
      waiting: [
        { cluster: 'b', line },
        { cluster: 'c', line },
      ],
    };
    expect(run(s, waiting, waiting).map((n) => n.type)).toEqual(['waiting-for-window']);
    expect([s.reason, cluster(s, 'b')?.waitingFor]).toEqual([line, line]);
    run(s, { kind: 'window-waits', phase: 'wave', waiting: [{ cluster: 'b' }, { cluster: 'c' }] });
    expect([s.reason, cluster(s, 'b')?.waitingFor]).toEqual([undefined, undefined]);
    // A reason that is not the window's stays.
    run(
      s,
      waiting,
      { kind: 'decision-needed', phase: 'wave', failed: 'x' },
      { kind: 'window-waits', phase: 'wave', waiting: [] },
    );
    expect(s.reason).toBe('waiting for a decision (retry, skip, rollback or abort): x');
  });

  it('rolls back: a failed rollback waits for a person, a retry rolls it back again, an accepted one ends failed', () => {
    const s = started();
    run(
      s,
      { kind: 'cluster-succeeded', cluster: 'a', skipped: [] },
      { kind: 'restore-started', done: 'rolled-back', reason: 'rollback (all) requested by bob' },
      { kind: 'rollback-started', cluster: 'a', workflowId: 'r1:a:rollback' },
      { kind: 'rollback-ended', cluster: 'a', at, error: 'rollback failed: unreachable' },
    );
    expect([s.state, s.stopping, cluster(s, 'a')?.state]).toEqual(['rolling-back', 'rollback', 'rollback-failed']);
    const stuck = run(s, { kind: 'rollback-stuck', clusters: ['a'] });
    expect(stuck.map((n) => n.type)).toEqual(['waiting-for-decision']);
    expect(s.reason).toMatch(/^rollback could not finish on a \(rollback failed: unreachable\); decide for each/);
    run(
      s,
      { kind: 'decided', decision: { kind: 'retry', by: 'bob', at }, change: { kind: 'retry', cluster: 'a' } },
      { kind: 'restore-started', done: 'rolled-back', reason: 'rollback (all) requested by bob' },
      { kind: 'rollback-started', cluster: 'a', workflowId: 'r1:a:rollback:attempt-2' },
    );
    expect([s.state, cluster(s, 'a')?.error, cluster(s, 'a')?.rollbackAttempts]).toEqual([
      'rolling-back',
      undefined,
      2,
    ]);
    const again = structuredClone(s);
    run(
      s,
      { kind: 'rollback-ended', cluster: 'a', at },
      { kind: 'restored', done: 'rolled-back', reason: 'rollback (all) requested by bob', restored: ['a'] },
    );
    expect([s.state, phase(s, 'canary')?.state, phase(s, 'wave')?.state]).toEqual([
      'rolled-back',
      'rolled-back',
      'pending',
    ]);
    run(
      again,
      { kind: 'rollback-ended', cluster: 'a', at, error: 'rollback failed: still unreachable' },
      { kind: 'decided', decision: { kind: 'accept', by: 'bob', at }, change: { kind: 'accept', cluster: 'a' } },
      { kind: 'restored', done: 'rolled-back', reason: 'rollback (all) requested by bob', restored: ['a'] },
    );
    expect([again.state, again.reason]).toEqual([
      'failed',
      'rollback (all) requested by bob; rollback did not finish on a (accepted)',
    ]);
  });

  it('a phase whose gate waited when the rollout rolled back goes back to pending: it never started', () => {
    const s = started();
    run(
      s,
      { kind: 'phase-started', phase: 'canary', at },
      { kind: 'cluster-started', cluster: 'a', workflowId: 'r1:a', seq: 1, at },
      { kind: 'snapshot-taken', cluster: 'a', snapshot },
      { kind: 'cluster-succeeded', cluster: 'a', skipped: [] },
      { kind: 'cluster-settled', cluster: 'a', at },
      { kind: 'phase-succeeded', phase: 'canary', at },
      { kind: 'phase-entered', phase: 'wave' },
      { kind: 'gate-waiting', phase: 'wave', why: '', approveCommand: 'rollout approve r1 --phase wave' },
    );
    expect(phase(s, 'wave')?.state).toBe('awaiting-approval');
    run(
      s,
      { kind: 'restore-started', done: 'rolled-back', reason: 'rollback (all) requested by bob' },
      { kind: 'rollback-started', cluster: 'a', workflowId: 'r1:a:rollback' },
      { kind: 'rollback-ended', cluster: 'a', at },
      { kind: 'restored', done: 'rolled-back', reason: 'rollback (all) requested by bob', restored: ['a'] },
    );
    expect([s.state, phase(s, 'canary')?.state, phase(s, 'wave')?.state]).toEqual([
      'rolled-back',
      'rolled-back',
      'pending',
    ]);
  });

  it('aborts: the phases in progress end aborted, finished and untouched ones keep their state', () => {
    const s = started();
    run(
      s,
      { kind: 'phase-started', phase: 'canary', at },
      { kind: 'phase-succeeded', phase: 'canary', at },
      { kind: 'phase-started', phase: 'wave', at },
    );
    run(
      s,
      { kind: 'restore-started', done: 'aborted', reason: 'aborted by bob: x' },
      { kind: 'restored', done: 'aborted', reason: 'aborted by bob: x', restored: [] },
    );
    expect([s.state, s.stopping, phase(s, 'canary')?.state, phase(s, 'wave')?.state]).toEqual([
      'aborted',
      'abort',
      'succeeded',
      'aborted',
    ]);
  });

  it('pauses, freezes and marks the version bad as people decide, and tells the sinks how it ended', () => {
    const s = started();
    run(s, { kind: 'decided', decision: { kind: 'pause', by: 'eve', at }, change: { kind: 'pause' } });
    expect(s.paused).toBe(true);
    run(s, { kind: 'decided', decision: { kind: 'resume', by: 'bob', at }, change: { kind: 'resume' } });
    expect(s.paused).toBe(false);
    run(s, {
      kind: 'decided',
      decision: { kind: 'freeze', by: 'ops', at },
      change: { kind: 'freeze', frozen: 'frozen by ops: incident' },
    });
    expect(s.frozen).toBe('frozen by ops: incident');
    const denied = { chart: 'express', version: '2.2.0', by: 'sec', reason: 'CVE' };
    run(s, {
      kind: 'decided',
      decision: { kind: 'deny-version', by: 'sec', at },
      change: { kind: 'deny-version', denied, reason: 'paused: bad' },
    });
    expect([s.paused, s.denied, s.reason]).toEqual([true, denied, 'paused: bad']);
    run(s, { kind: 'decided', decision: { kind: 'allow-version', by: 'sec', at }, change: { kind: 'allow-version' } });
    expect(s.denied).toBeUndefined();
    run(s, { kind: 'succeeded' });
    expect(run(s, { kind: 'closed', at: 'end' })).toEqual([{ type: 'succeeded', summary: 'rollout succeeded' }]);
    expect(s.finishedAt).toBe('end');
  });
});
