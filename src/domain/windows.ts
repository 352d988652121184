import { Cron } from 'croner';
import { durationMs } from '../plan/duration.js';
import type { ClusterSpec, DeployWindow } from '../plan/schema.js';

/** Whether a cluster may start now, and if not, which window keeps it and when it may start. */
export type WindowVerdict =
  | { open: true }
  | {
      open: false;
      /** The window to wait for (allow) or wait out (deny). */
      window: string;
      kind: 'allow' | 'deny';
      /** When the cluster may start, in ms since the epoch; undefined when it never may (within a year). */
      opensAt?: number;
      /**
       * Set when the search for an opening stopped at its step budget before a year had passed: nothing
       * opens before this time; search again from it. Unset with no `opensAt`: nothing opens within a year.
       */
      searchedUntil?: number;
    };

/** A window's scope: none means every cluster; otherwise its phases, its clusters or its label selector. */
export function appliesTo(w: DeployWindow, cluster: Pick<ClusterSpec, 'name' | 'labels'>, phase: string): boolean {
  if (!w.phases && !w.clusters && !w.selector) return true;
  if (w.phases?.includes(phase)) return true;
  if (w.clusters?.includes(cluster.name)) return true;
  const wanted = Object.entries(w.selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => cluster.labels[k] === v);
}

function cron(w: DeployWindow): Cron {
  return new Cron(w.schedule, { timezone: w.timeZone, paused: true });
}

/** The occurrence of the window that covers `t`, as [start, end), or undefined when it is not active. */
function activeSpan(w: DeployWindow, t: number): [number, number] | undefined {
  const d = durationMs(w.duration);
  const start = cron(w)
    .nextRun(new Date(t - d))
    ?.getTime();
  return start !== undefined && start <= t ? [start, start + d] : undefined;
}

/**
 * Deny wins over allow; with allow windows, a cluster starts only inside one of them; with none, always
 * (as Argo CD's sync windows). `overridden` names windows an approver set aside for this rollout.
 */
export function windowVerdict(
  windows: readonly DeployWindow[],
  cluster: Pick<ClusterSpec, 'name' | 'labels'>,
  phase: string,
  now: number,
  overridden: readonly string[] = [],
): WindowVerdict {
  const mine = windows.filter((w) => !overridden.includes(w.name) && appliesTo(w, cluster, phase));
  const denies = mine.filter((w) => w.kind === 'deny');
  const allows = mine.filter((w) => w.kind === 'allow');
  if (denies.length === 0 && allows.length === 0) return { open: true };
  let t = now;
  let blocker: { window: string; kind: 'allow' | 'deny' } | undefined;
  // Walk forward from now: past each active deny's end, or to the next allow's start, until both agree.
  // The walk runs in a workflow task, so it has a step budget; where the budget runs out before a year has
  // passed, the verdict says how far it looked, never that nothing opens.
  let step = 0;
  for (; step < searchSteps && t < now + 366 * 86_400_000; step++) {
    const deny = denies.map((w) => [w, activeSpan(w, t)] as const).find(([, s]) => s);
    if (deny) {
      blocker ??= { window: deny[0].name, kind: 'deny' };
      t = (deny[1] as [number, number])[1];
      continue;
    }
    if (allows.length === 0 || allows.some((w) => activeSpan(w, t))) {
      return t === now ? { open: true } : { open: false, ...(blocker as NonNullable<typeof blocker>), opensAt: t };
    }
    const next = allows
      .map((w) => [w, cron(w).nextRun(new Date(t))?.getTime()] as const)
      .filter((x): x is readonly [DeployWindow, number] => x[1] !== undefined)
      .sort((a, b) => a[1] - b[1])[0];
    if (!next) break;
    blocker ??= { window: next[0].name, kind: 'allow' };
    t = next[1];
  }
  const why = blocker ?? { window: mine[0]?.name ?? '', kind: 'deny' as const };
  return step >= searchSteps && t < now + 366 * 86_400_000
    ? { open: false, ...why, searchedUntil: t }
    : { open: false, ...why };
}

/** Steps of one search for an opening (each a few cron computations, in a workflow task). */
const searchSteps = 1000;

/** "2026-12-01T08:00+01:00": a time in the window's own zone, as people there read it. */
export function localTime(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const offset = String(parts['timeZoneName'] ?? '').replace('GMT', '') || '+00:00';
  return `${parts['year']}-${parts['month']}-${parts['day']}T${parts['hour']}:${parts['minute']}${offset}`;
}

/** Why a cluster waits, for status: "waiting for window eu-business-hours, opens 2026-12-01T08:00+01:00". */
export function waitingLine(v: Extract<WindowVerdict, { open: false }>, windows: readonly DeployWindow[]): string {
  const zone = windows.find((w) => w.name === v.window)?.timeZone ?? 'UTC';
  const searched = v.searchedUntil === undefined ? undefined : localTime(v.searchedUntil, zone);
  const when =
    v.opensAt !== undefined
      ? `opens ${localTime(v.opensAt, zone)}`
      : searched
        ? `no opening before ${searched} (looked that far; looks further then)`
        : 'does not open within a year';
  const start =
    v.opensAt !== undefined
      ? `may start ${localTime(v.opensAt, zone)}`
      : searched
        ? `no start allowed before ${searched} (looked that far; looks further then)`
        : 'no start allowed within a year';
  return v.kind === 'deny' ? `held by deny window ${v.window}; ${start}` : `waiting for window ${v.window}, ${when}`;
}
