import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../src/activities/contracts.js';
import type { ClusterSnapshot, DiffGroup, DiffSummary } from '../../src/domain/types.js';
import { createHash } from 'node:crypto';
import { fleetVerdict } from '../../src/domain/fleet.js';

/**
 * Test doubles for the activities: an in-memory fleet of clusters whose releases change only through
 * these calls, and that behave as the real activities promise (idempotent upgrades, rollback to a
 * snapshot). Tests inject failures and gates and read back every call and the fleet's final state.
 */
export interface FakeRelease {
  version: string;
  revision: number;
}

export interface Call {
  activity: keyof Activities;
  cluster: string;
  role?: string;
  version?: string;
  /** True when the call changed something. */
  changed?: boolean;
  /** True when the call failed. */
  failed?: boolean;
}

/**
 * What a failure or a hold is put on: a component's upgrade (its name: `operator`, `chart`, `farmer`), its
 * verification (`verify-NAME`), or one of the other steps.
 */
type Step = 'snapshot' | 'synchronizer' | 'cache' | 'rollback' | (string & {});

/** The component a verified release is: the test plans' shorthand names its operator "op", its chart "app". */
const componentOf = (releaseName: string) =>
  releaseName === 'op' ? 'operator' : releaseName === 'app' ? 'chart' : releaseName;

export class FakeFleet {
  /** Each cluster's releases, by component. */
  readonly releases = new Map<string, Record<string, FakeRelease | undefined>>();
  readonly calls: Call[] = [];
  /** Failures to inject: `${cluster}:${step}` -> how many more times to fail (Infinity: always). */
  readonly failures = new Map<string, number>();
  /** Gates: `${cluster}:${step}` -> a promise the step waits on before doing its work. */
  readonly gates = new Map<string, Promise<void>>();
  /** When set, preflight refuses the rollout with this problem. */
  preflightProblem?: string;
  /** Edits made to clusters by hand, outside any rollout: they change what a diff of that cluster shows. */
  readonly handEdits = new Map<string, string>();
  /** Diffs that cannot be had, per cluster: the error and its failure type (e.g. SourceChanged). */
  readonly diffErrors = new Map<string, { error: string; errorType: string }>();
  /** The clusters of each diff asked for (diffs read clusters, never change them: not in `calls`). */
  readonly diffs: string[][] = [];
  /** Held steps whose cluster does not answer: `${cluster}:${step}` -> the error it gives. */
  private readonly outages = new Map<string, string>();
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;

  /** `initial`: each component's version on every cluster before the test (missing: not installed). */
  constructor(clusters: string[], initial: Record<string, string> = { operator: '1.0.0', chart: '2.0.0' }) {
    for (const c of clusters) {
      this.releases.set(
        c,
        Object.fromEntries(Object.entries(initial).map(([name, version]) => [name, { version, revision: 1 }])),
      );
    }
  }

  /** Makes a step fail `times` times; with `version`, only when acting on that version (a bad release). */
  fail(cluster: string, step: Step, times = Infinity, version?: string): void {
    this.failures.set(`${cluster}:${step}${version ? `@${version}` : ''}`, times);
  }

  /**
   * Makes a step wait until the returned function is called. With `unreachable`, the cluster does not
   * answer meanwhile: the step's heartbeats report it as the real activities do, and a local activity's
   * short try fails at once with that error.
   */
  hold(cluster: string, step: Step, options: { unreachable?: string } = {}): () => void {
    let release!: () => void;
    this.gates.set(`${cluster}:${step}`, new Promise<void>((r) => (release = r)));
    if (options.unreachable) this.outages.set(`${cluster}:${step}`, options.unreachable);
    return () => {
      this.outages.delete(`${cluster}:${step}`);
      release();
    };
  }

  callsFor(cluster: string): Call[] {
    return this.calls.filter((c) => c.cluster === cluster);
  }

  private async enter(cluster: string, step: Step, version?: string): Promise<void> {
    const gate = this.gates.get(`${cluster}:${step}`);
    const outage = this.outages.get(`${cluster}:${step}`);
    if (gate && outage && Context.current().info.isLocal) throw new Error(outage);
    if (gate) await heartbeatUntil(gate, outage);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const key = [`${cluster}:${step}@${version}`, `${cluster}:${step}`].find((k) => this.failures.has(k)) ?? '';
    const left = this.failures.get(key) ?? 0;
    if (left > 0) {
      this.failures.set(key, left - 1);
      throw ApplicationFailure.nonRetryable(`injected failure of ${step} on ${cluster}`, 'Injected');
    }
  }

  private async track<T>(call: Call, step: Step, work: () => T): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.enter(call.cluster, step, call.version);
      const result = work();
      this.calls.push(call);
      return result;
    } catch (err) {
      this.calls.push({ ...call, failed: true });
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  activities(): Activities {
    return {
      preflight: () => {
        this.calls.push({ activity: 'preflight', cluster: '' });
        if (this.preflightProblem) {
          return Promise.reject(
            ApplicationFailure.nonRetryable(
              `preflight found 1 problem(s): ${this.preflightProblem}`,
              'PreflightFailed',
            ),
          );
        }
        return Promise.resolve({ checked: ['fake preflight'], warnings: [] });
      },
      snapshotCluster: ({ cluster, releases }) =>
        this.track({ activity: 'snapshotCluster', cluster }, 'snapshot', (): ClusterSnapshot => {
          const r = this.releases.get(cluster) ?? {};
          const snap = (x?: FakeRelease) =>
            x ? { revision: x.revision, chartVersion: x.version, valuesDigest: 'sha256:fake' } : null;
          return {
            releases: Object.fromEntries(releases.map(({ component }) => [component, snap(r[component])])),
            takenAt: new Date().toISOString(),
          };
        }),
      upgradeRelease: ({ cluster, component: role, version }) => {
        const call: Call = { activity: 'upgradeRelease', cluster, role, version };
        return this.track(call, role, () => {
          const r = this.releases.get(cluster) ?? {};
          const cur = r[role];
          call.changed = cur?.version !== version;
          if (call.changed) r[role] = { version, revision: (cur?.revision ?? 0) + 1 };
          this.releases.set(cluster, r);
          const now = r[role] as FakeRelease;
          return {
            changed: call.changed,
            revision: now.revision,
            chartVersion: now.version,
            valuesDigest: 'sha256:fake',
          };
        });
      },
      runSynchronizerJob: ({ cluster, version }) =>
        this.track({ activity: 'runSynchronizerJob', cluster, version }, 'synchronizer', () => ({
          jobName: `sync-${cluster}-${version}`,
          namespace: 'express',
          changed: true,
        })),
      waitForCacheReady: ({ cluster, version }) =>
        this.track({ activity: 'waitForCacheReady', cluster, version }, 'cache', () => ({
          observed: `cache ready for ${version}`,
        })),
      cleanupSynchronizerJob: ({ cluster, version }) => {
        this.calls.push({ activity: 'cleanupSynchronizerJob', cluster, version });
        return Promise.resolve();
      },
      // The role is the verified release's name (the test plans' operator is "op", their chart "app").
      verifyWorkloads: ({ cluster, version, release }) =>
        this.track(
          { activity: 'verifyWorkloads', cluster, version, role: release.releaseName },
          `verify-${componentOf(release.releaseName)}`,
          () => ({ checked: [`fe ${version}`] }),
        ),
      rollbackRelease: ({ cluster, component: role, to }) => {
        const call: Call = { activity: 'rollbackRelease', cluster, role, version: to?.chartVersion };
        return this.track(call, 'rollback', () => {
          const r = this.releases.get(cluster) ?? {};
          const cur = r[role];
          if (to === null) {
            call.changed = cur !== undefined;
            delete r[role];
            return { changed: call.changed, revision: null };
          }
          call.changed = cur?.version !== to.chartVersion;
          if (call.changed) r[role] = { version: to.chartVersion, revision: (cur?.revision ?? 0) + 1 };
          return { changed: call.changed, revision: r[role]?.revision ?? null };
        });
      },
      // The test environment adds the real lock registry, lock lookup and registry reads on top of these.
      takeClusters: () => Promise.reject(new Error('clusters are taken from the real lock registry')),
      releaseClusters: () => Promise.reject(new Error('clusters are given back to the real lock registry')),
      heldByRunningRollouts: () => Promise.reject(new Error('the lock registry reads real rollouts')),
      registryState: () => Promise.resolve({ freezes: [], denied: [] }),
      claimStart: () => Promise.reject(new Error('signed starts are claimed in the real control registry')),
      tellRollouts: () => Promise.resolve({ told: [] }),
      stepsOf: ({ workflowIds }) => Promise.resolve(workflowIds.map((workflowId) => ({ workflowId }))),
      diffClusters: ({ clusters, versions }) => {
        this.diffs.push(clusters.map((c) => c.cluster));
        const diffs = clusters.map((c) => ({ cluster: c.cluster, ...this.diffOf(c.cluster, versions.chart ?? '') }));
        const groups = new Map<string, DiffGroup>();
        for (const d of diffs) {
          const failed = this.diffErrors.get(d.cluster);
          const g = groups.get(d.digest) ?? { digest: d.digest, clusters: [], summary: d.summary, ...failed };
          g.clusters.push(d.cluster);
          groups.set(d.digest, g);
        }
        return Promise.resolve({ digest: digest(diffs.map((d) => d.digest).join()), groups: [...groups.values()] });
      },
      readFleet: ({ clusters, versions }) =>
        Promise.resolve(
          clusters.map(({ cluster }) => {
            const r = this.releases.get(cluster) ?? {};
            const rel = (x: FakeRelease | undefined, want: string) => ({
              desiredVersion: want,
              desiredValues: 'sha256:fake',
              version: x?.version,
              revision: x?.revision,
              status: x ? 'deployed' : undefined,
              valuesDigest: 'sha256:fake',
            });
            const releases = Object.fromEntries(Object.entries(versions).map(([n, v]) => [n, rel(r[n], v)]));
            const row = { cluster, releases };
            return { ...row, ...fleetVerdict(row) };
          }),
        ),
      // Tests that notify pass the real delivery activity, posting to a receiver on loopback.
      deliverNotification: () => Promise.reject(new Error('the fake fleet delivers no notifications')),
      // Tests of analyses pass the real measurement, against a real metrics server.
      measureAnalysis: () => Promise.reject(new Error('the fake fleet measures nothing')),
      // Tests of signed approvals pass the real verification (ssh-keygen) instead.
      verifyApproval: () => Promise.resolve({ valid: false, detail: 'the fake fleet verifies no signature' }),
      resolveSource: (s) => Promise.resolve({ kind: 'git' as const, ...s, commit: 'f'.repeat(40) }),
      diffText: ({ clusters, versions }) =>
        Promise.resolve(
          clusters.map((c) => {
            const to = versions.chart ?? '';
            const d = this.diffOf(c.cluster, to);
            return { ...d, clusters: [c.cluster], text: `chart ${d.from} -> ${to}\n`, truncated: false };
          }),
        ),
    };
  }

  /** A fake diff: the chart's version change, and any hand edit of the cluster. */
  private diffOf(cluster: string, chartVersion: string): { from: string; digest: string; summary: DiffSummary } {
    const from = this.releases.get(cluster)?.chart?.version ?? 'none';
    const changed: Record<string, number> = from === chartVersion ? {} : { Deployment: 1 };
    const edit = this.handEdits.get(cluster) ?? '';
    const failed = this.diffErrors.get(cluster)?.error ?? '';
    return {
      from,
      digest: digest(`${from}->${chartVersion}|${edit}|${failed}`),
      summary: { added: {}, changed: failed ? {} : changed, removed: {} },
    };
  }
}

function digest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Waits like a real long step: heartbeating, so cancellation reaches it, and giving up when cancelled. */
async function heartbeatUntil(gate: Promise<void>, unreachable?: string): Promise<void> {
  const ctx = Context.current();
  const since = new Date().toISOString();
  let attempts = 0;
  const beat = setInterval(
    () => ctx.heartbeat(unreachable ? { unreachable: { since, attempts: ++attempts, error: unreachable } } : undefined),
    200,
  );
  try {
    await Promise.race([gate, ctx.cancelled]);
  } finally {
    clearInterval(beat);
  }
}
