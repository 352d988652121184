import {
  workflowInfo,
  CancellationScope,
  condition,
  ParentClosePolicy,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { notificationWorkflowId, rolloutEvent } from '../domain/notifications.js';
import { defaultNotificationEvents } from '../domain/notification-events.js';
import { notification } from './notification.js';
import { displayState } from '../domain/display.js';
import { initialStatus } from '../domain/progress.js';
import { transition, type Notice, type RolloutChange } from '../domain/rollout-machine.js';
import { detailsMarkdown, rolloutSummary } from '../domain/summary.js';
import type { ClusterStatus, RolloutInput, RolloutStatus, StopRequest } from '../domain/types.js';
import { nowIso } from './clock.js';
import { appliesTo, componentsOf, overlaysOf, type Component } from '../plan/components.js';
import type { ClusterReleases } from '../activities/contracts.js';
import { clusterCount, gateWaited, rolloutStateChanged } from './metrics.js';

/** Events that may change several clusters' states at once: the cluster counts are taken afresh. */
const recountOn: ReadonlySet<string> = new Set([
  'refused',
  'clusters-taken',
  'decided',
  'restore-started',
  'restored',
  'rollback-stuck',
  'succeeded',
  'closed',
]);
import { rolloutAttributes } from '../common/search-attributes.js';

/**
 * The one owner of a rollout's state, in the way Temporal's safe-message-handlers sample keeps its state
 * in a class the handlers call: the status the `status` query returns, the stop people asked for, the
 * clusters in flight. The status changes only by `apply` (each event's effect is in
 * domain/rollout-machine.ts); handlers and the main loop read it, and every change the main loop may wait
 * for wakes it (`nextChange`).
 */
export class RolloutRun {
  readonly #status: RolloutStatus;
  /** A rollback or abort people asked for; the main loop carries it out at its next wait. */
  stop?: StopRequest;
  /** Why the rollout was refused before it touched anything (preflight, locks), with the failure's type. */
  #startFailure?: { type?: string; message: string };

  private changes = 0;
  private order = 0;
  private bakes = 0;
  private readonly inFlight = new Map<string, CancellationScope>();
  private published?: string;
  private notified = 0;
  private readonly notifying: Promise<void>[] = [];

  constructor(
    readonly input: RolloutInput,
    id: string,
  ) {
    const carried = input.carried;
    this.#status = carried
      ? carried.status
      : { ...initialStatus(id, input, nowIso()), runId: workflowInfo().firstExecutionRunId };
    this.order = carried?.started ?? 0;
    this.bakes = carried?.bakes ?? 0;
    this.notified = carried?.notified ?? 0;
    this.stop = carried?.stop;
    for (const c of this.#status.clusters) {
      this.#byName.set(c.name, c);
      const mine = this.#byPhase.get(c.phase) ?? [];
      mine.push(c);
      this.#byPhase.set(c.phase, mine);
    }
  }

  // The status's cluster records by name and by phase. A record is created once (domain/progress.ts) and
  // changed in place, so these stay true; a rollout of thousands of clusters looks one up at every change.
  readonly #byName = new Map<string, ClusterStatus>();
  readonly #byPhase = new Map<string, ClusterStatus[]>();

  /** One of the rollout's clusters, by name. */
  cluster(name: string): ClusterStatus | undefined {
    return this.#byName.get(name);
  }

  /** A phase's clusters, in plan order. */
  clustersIn(phase: string): readonly ClusterStatus[] {
    return this.#byPhase.get(phase) ?? [];
  }

  /** Whether this run resumes a rollout an earlier run started (it continued as new). */
  get resumed(): boolean {
    return this.input.carried !== undefined;
  }

  /** Clusters whose work runs now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * The input of the run this one continues as: the same release, and where this run stood. Only with
   * nothing in flight (no cluster, bake or update), so nothing of this run's is lost.
   */
  carry(): RolloutInput {
    return {
      ...this.input,
      carried: {
        status: this.#status,
        started: this.order,
        bakes: this.bakes,
        notified: this.notified,
        // Asked for while this run let its last clusters finish: the next run carries it out.
        ...(this.stop ? { stop: this.stop } : {}),
      },
    };
  }

  /** The rollout's status, to read: it changes by `apply` only. */
  get status(): RolloutStatus {
    return this.#status;
  }

  get startFailure(): { type?: string; message: string } | undefined {
    return this.#startFailure;
  }

  /** The rollout was refused before it touched anything: it ends failed, saying why. */
  refused(failure: { type?: string; message: string }): void {
    this.#startFailure = failure;
    this.apply({ kind: 'refused', reason: failure.message, at: nowIso() });
  }

  /**
   * Applies one event to the status (domain/rollout-machine.ts), shows the result (search attributes, the
   * Web UI's details), tells the sinks what the event calls for, and wakes the main loop.
   */
  apply(event: RolloutChange): void {
    const before = this.#status.state;
    const one = 'cluster' in event ? this.#byName.get(event.cluster) : undefined;
    const touched = 'cluster' in event ? (one ? [one] : []) : undefined;
    const was = touched?.map((c) => c.state);
    const notice = transition(this.#status, event, (name) => this.#byName.get(name));
    this.measure(event, before, touched, was);
    this.changed();
    this.publishSoon();
    if (notice) this.notify(notice);
  }

  private publishing = false;
  /**
   * Publishes once the changes under way have been applied: the children that settle in one workflow
   * task apply an event each, and the Web UI's details (which count every cluster) are written once for
   * all of them. Deterministic: a microtask of the workflow's own, run before its task completes.
   */
  private publishSoon(): void {
    if (this.publishing) return;
    this.publishing = true;
    void Promise.resolve().then(() => {
      this.publishing = false;
      this.publish();
    });
  }

  /** Cluster counts by state, as last exported (the metrics say only what changed). */
  private readonly counted = new Map<string, number>();
  private gateSince?: number;

  /**
   * The metrics an event moves (workflows/metrics.ts): the rollout's state, its clusters by state (the one
   * cluster an event names, else all of them), a gate's wait.
   */
  private measure(event: RolloutChange, before: string, touched?: ClusterStatus[], was?: string[]): void {
    const { id, state } = this.#status;
    const plan = this.input.plan.metadata.name;
    if (before !== state || event.kind === 'preflight-passed') rolloutStateChanged(id, plan, before, state);
    const counts = new Map(this.counted);
    if (touched && was && this.counted.size > 0) {
      touched.forEach((c, i) => {
        const old = was[i] as string;
        if (old === c.state) return;
        counts.set(old, (counts.get(old) ?? 1) - 1);
        counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
      });
    } else if (this.counted.size === 0 || (!touched && recountOn.has(event.kind))) {
      for (const k of counts.keys()) counts.set(k, 0);
      for (const c of this.#status.clusters) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    }
    for (const [s, n] of counts) if (this.counted.get(s) !== n) clusterCount(id, plan, s, n);
    counts.forEach((n, s) => this.counted.set(s, n));
    if (event.kind === 'gate-waiting') this.gateSince ??= Date.now();
    if (event.kind === 'gate-passed' && this.gateSince !== undefined) {
      gateWaited(plan, this.#status.currentPhase ?? '', (Date.now() - this.gateSince) / 1000);
      this.gateSince = undefined;
    }
  }

  get spec(): RolloutInput['plan']['spec'] {
    return this.input.plan.spec;
  }

  #components?: Component[];
  /** The release's components, in the order each cluster gets them. */
  get components(): Component[] {
    return (this.#components ??= componentsOf(this.input.plan));
  }

  #specs?: Map<string, RolloutInput['plan']['spec']['clusters'][number]>;
  /** The plan's entry for a cluster (by a map: a phase of thousands asks for each of its clusters). */
  clusterSpec(name: string) {
    this.#specs ??= new Map(this.spec.clusters.map((c) => [c.name, c]));
    return this.#specs.get(name);
  }

  /** A cluster as preflight, the diff and the fleet read it: context, overlays and labels. */
  clusterReleases(c: Pick<ClusterStatus, 'name' | 'context'>): ClusterReleases {
    const spec = this.clusterSpec(c.name);
    return {
      cluster: c.name,
      context: c.context,
      overlays: overlaysOf(spec, this.components),
      labels: spec?.labels ?? {},
    };
  }

  /** The components a cluster gets (their selectors match its labels), in order. */
  componentsFor(cluster: string): Component[] {
    const labels = this.clusterSpec(cluster)?.labels ?? {};
    return this.components.filter((c) => appliesTo(c, labels));
  }

  /** Something the main loop may be waiting for changed (a decision, a cluster settled). */
  private changed(): void {
    this.changes++;
  }

  /**
   * Waits for the next change, or (unless `stopToo` is false) for a stop request, or at most `timeoutMs`
   * (a durable timer: a deploy window's opening).
   */
  async nextChange(stopToo = true, timeoutMs?: number): Promise<void> {
    const seen = this.changes;
    const changed = () => this.changes !== seen || (stopToo && this.stop !== undefined);
    if (timeoutMs === undefined) await condition(changed);
    else await condition(changed, Math.max(1, timeoutMs));
  }

  requestStop(stop: StopRequest): void {
    this.stop = stop;
    this.changed();
  }

  /**
   * Runs a cluster's work in its own cancellation scope, so abort and rollback can cancel it. The
   * cluster counts as in flight until `work` settles; then the main loop hears of it.
   */
  launch(c: ClusterStatus, workflowId: string, work: () => Promise<void>): void {
    this.apply({ kind: 'cluster-started', cluster: c.name, workflowId, seq: ++this.order, at: nowIso() });
    const scope = new CancellationScope();
    this.inFlight.set(c.name, scope);
    void scope
      .run(work)
      .finally(() => {
        this.inFlight.delete(c.name);
        this.apply({ kind: 'cluster-settled', cluster: c.name, at: nowIso() });
      })
      .catch(() => undefined); // `work` records its own outcome on the cluster
  }

  /** Cancels every cluster in flight and waits until each has settled. */
  async cancelInFlight(): Promise<void> {
    for (const scope of this.inFlight.values()) scope.cancel();
    await condition(() => this.inFlight.size === 0);
  }

  /** A workflow ID for the phase's next bake, unique within the rollout. */
  nextBakeId(phase: string): string {
    return `${this.status.id}:bake:${phase}:${++this.bakes}`;
  }

  /**
   * Tells the sinks subscribed to this kind of event, without waiting for delivery: a child workflow per
   * event, its ID derived from the event, abandoned when the rollout closes. Nothing when no sink listens.
   */
  private notify(e: Notice): void {
    const sinks = (this.spec.notifications?.sinks ?? []).filter((s) =>
      (s.events ?? defaultNotificationEvents).includes(e.type),
    );
    if (sinks.length === 0) return;
    const event = rolloutEvent(this.status, ++this.notified, nowIso(), e);
    this.notifying.push(
      startChild(notification, {
        workflowId: notificationWorkflowId(this.status, this.notified),
        args: [{ sinks, event }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }).then(
        () => undefined,
        () => undefined, // already started by an earlier run of this task: delivered by that one
      ),
    );
  }

  /** Waits until every notification's delivery has started (not finished): before the rollout closes. */
  async notificationsStarted(): Promise<void> {
    await Promise.all(this.notifying);
  }

  /** Upserts the search attributes when they change (one history event each time) and the UI details always. */
  publish(): void {
    const { state } = displayState(this.status);
    const key = `${state}|${this.status.currentPhase ?? ''}`;
    if (key !== this.published) {
      this.published = key;
      upsertSearchAttributes(rolloutAttributes(this.input, state, this.status.currentPhase));
    }
    // A continued run has no static summary: its details say what it rolls.
    const summary = this.input.carried ? rolloutSummary(this.input) : undefined;
    setCurrentDetails(detailsMarkdown(this.status, summary, (phase) => this.clustersIn(phase)));
  }
}
