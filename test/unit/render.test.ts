import { describe, expect, it } from 'vitest';
import { renderStatus, type StatusView } from '../../src/cli/render.js';
import { readPaged, unknownInView } from '../../src/cli/status.js';
import { maxPageSize, statusPage, type StatusPageRequest } from '../../src/domain/status-page.js';
import { displayState, waitsForPerson } from '../../src/domain/display.js';
import { initialStatus } from '../../src/domain/progress.js';
import { detailsMarkdown } from '../../src/domain/summary.js';
import type { RolloutStatus } from '../../src/domain/types.js';
import { testInput } from '../helpers/plans.js';

/** A rollout of 1,000 clusters in four phases, the canary done and wave-1 half way. */
function fleet(): RolloutStatus {
  const names = Array.from({ length: 1000 }, (_, i) => `c${i + 1}`);
  const s = initialStatus(
    'big',
    testInput([
      { name: 'canary', clusters: names.slice(0, 10), approval: 'auto' },
      { name: 'wave-1', clusters: names.slice(10, 340), maxParallel: 100, approval: 'auto' },
      { name: 'wave-2', clusters: names.slice(340, 670), maxParallel: 100 },
      { name: 'wave-3', clusters: names.slice(670), maxParallel: 100 },
    ]),
    '2026-01-01T00:00:00Z',
  );
  s.currentPhase = 'wave-1';
  s.clusters.forEach((c, i) => {
    if (i < 10) c.state = 'succeeded';
    else if (i < 150) c.state = 'succeeded';
    else if (i < 250) c.state = 'running';
  });
  const failed = s.clusters[150];
  if (failed) Object.assign(failed, { state: 'failed', failedStep: 'verify-chart', error: 'pods not ready' });
  return s;
}

/** The rollout's answers to `status-page`, as the CLI asks for them; each one's clusters counted. */
function rolloutOf(s: RolloutStatus) {
  const answered: number[] = [];
  const ask = (req: StatusPageRequest) => {
    const page = statusPage(s, req);
    answered.push(page.status.clusters.length);
    return Promise.resolve(page);
  };
  return { ask, answered };
}

/** What `rollout status` prints, fetched a page at a time as the CLI fetches it. */
async function render(s: RolloutStatus, view: StatusView = {}) {
  const { first, status } = await readPaged(rolloutOf(s).ask, view, false);
  return renderStatus(
    { status, shown: displayState(s), live: new Map(), counts: first.counts, selected: first.total },
    view,
  );
}

describe('status at fleet scale', () => {
  it('counts each phase by state and lists only the clusters in flight or failed', async () => {
    const s = fleet();
    const text = await render(s);
    expect(text).toMatch(/wave-1 .*\b330\b.* 1 failed, 99 running, 140 succeeded, 90 pending/);
    expect(text).toMatch(/wave-3 .*\b330\b.* 330 pending/);
    const rows = text.split('\n').filter((l) => /^│ c\d+ /.test(l));
    expect(rows).toHaveLength(100); // the failed one and 99 in flight
    expect(text).toContain('pods not ready');
    expect(text).toContain('900 more not listed: 150 succeeded, 750 pending (--all, --phase NAME or --cluster NAME');
    expect(text.split('\n').length).toBeLessThan(150);
  });

  it('lists what the filters select, and refuses names the rollout does not have', async () => {
    const s = fleet();
    const one = await render(s, { cluster: ['c5', 'c900'] });
    expect(one.split('\n').filter((l) => /^│ c\d+ /.test(l))).toHaveLength(2);
    expect(one).not.toContain('more not listed');
    const canary = await render(s, { phase: 'canary' });
    expect(canary.split('\n').filter((l) => /^│ c\d+ /.test(l))).toHaveLength(10);
    expect((await render(s, { all: true })).split('\n').filter((l) => /^│ c\d+ /.test(l))).toHaveLength(1000);
    expect(unknownInView('big', statusPage(s, { clusters: ['c5', 'nope'], phase: 'wave-9' }))).toBe(
      '--cluster: big has no cluster nope; --phase: big has no phase wave-9 (it has canary, wave-1, wave-2, wave-3)',
    );
    expect(unknownInView('big', statusPage(s, { phase: 'canary' }))).toBeUndefined();
  });

  it('answers with a page at most, however many clusters; JSON pages through every one', async () => {
    const s = fleet();
    const { ask, answered } = rolloutOf(s);
    const { status, first } = await readPaged(ask, {}, true);
    expect(status.clusters.map((c) => c.name)).toEqual(s.clusters.map((c) => c.name));
    expect(first.total).toBe(1000);
    expect(answered).toEqual([maxPageSize, maxPageSize]);
    // At 10,000 clusters the whole status is past Temporal's 2 MB cap on an answer; a page is far inside
    // the SDK's 512 kB warning line.
    const big = initialStatus(
      'huge',
      testInput([{ name: 'all', clusters: Array.from({ length: 10_000 }, (_, i) => `cluster-${i}`) }]),
      '2026-01-01T00:00:00Z',
    );
    for (const c of big.clusters) Object.assign(c, { state: 'failed', error: 'x'.repeat(150), attempts: 3 });
    expect(JSON.stringify(big).length).toBeGreaterThan(2 * 1024 * 1024);
    expect(JSON.stringify(statusPage(big, { attention: true })).length).toBeLessThan(512 * 1024);
    // The table of a large rollout asks once, for the clusters that need eyes, and counts the rest.
    const table = rolloutOf(s);
    const read = await readPaged(table.ask, {}, false);
    expect(table.answered).toEqual([100]);
    expect(read.first.total).toBe(1000);
    expect(read.status.clusters.every((c) => c.state === 'running' || c.state === 'failed')).toBe(true);
    // A small one is listed whole: the first answer's counts say how small, the second lists it.
    const few = initialStatus(
      'few',
      testInput([{ name: 'all', clusters: Array.from({ length: 12 }, (_, i) => `c${i}`) }]),
      '2026-01-01T00:00:00Z',
    );
    const small = rolloutOf(few);
    const whole = await readPaged(small.ask, {}, false);
    expect(small.answered).toEqual([0, 12]);
    expect(whole.status.clusters.map((c) => c.name)).toEqual(few.clusters.map((c) => c.name));
    expect(whole.first.total).toBe(12);
  });

  it('keeps the Web UI details to a row per phase, naming failed clusters', () => {
    const md = detailsMarkdown(fleet());
    expect(md.split('\n').length).toBeLessThan(12);
    expect(md).toContain('| wave-1 | pending | 1 failed, 99 running, 140 succeeded, 90 pending (failed: c151) |');
  });

  it('says when the rollout waits for a person', () => {
    const s = fleet();
    expect(waitsForPerson(displayState(s))).toBe(false);
    s.state = 'awaiting-approval';
    expect(waitsForPerson(displayState(s))).toBe(true);
    s.state = 'running';
    s.paused = true;
    expect(waitsForPerson(displayState(s))).toBe(true);
    s.state = 'succeeded';
    expect(waitsForPerson(displayState(s))).toBe(false);
  });
});

describe('the step of a cluster in flight', () => {
  it('is the live step; between steps the last one done, or starting; unanswered, the activity running', () => {
    const s = fleet();
    const [a, b, c, d] = s.clusters.filter((x) => x.state === 'running');
    const none = { skipped: [], resumed: [] };
    const live = new Map([
      [a?.name as string, { step: 'wait-cache' as const, done: ['upgrade-operator' as const], ...none }],
      [b?.name as string, { done: ['upgrade-operator' as const, 'run-synchronizer' as const], ...none }],
      [c?.name as string, { done: [], ...none }],
      // Its workflow did not answer in time: the activity in progress, as Temporal describes it.
      [d?.name as string, { activity: 'waitForCacheReady' }],
    ]);
    const counts = statusPage(s, {}).counts;
    const text = renderStatus({ status: s, shown: displayState(s), live, counts, selected: 1000 }, { all: true });
    const row = (name?: string) => text.split('\n').find((l) => l.startsWith(`│ ${name} `)) ?? '';
    expect(row(a?.name)).toMatch(/│ running +│ wait-cache +│/);
    expect(row(b?.name)).toMatch(/│ running +│ after run-synchronizer +│/);
    expect(row(c?.name)).toMatch(/│ running +│ starting +│/);
    expect(row(d?.name)).toMatch(/│ running +│ waitForCacheReady \(activity\) +│/);
  });
});

describe("a control's answer", () => {
  it('names the first clusters in flight and counts the rest, however many were in flight', async () => {
    const { inFlightLine, inFlightNamed } = await import('../../src/cli/controls.js');
    const inFlight = Array.from({ length: 500 }, (_, i) => ({
      cluster: `c${i + 1}`,
      ...(i === 1 ? { step: 'wait-cache' } : {}),
    }));
    const line = inFlightLine({ inFlight }, 'left to finish', 'r1');
    expect(line).toBe(
      `500 clusters were in flight (c1, c2 wait-cache, ${inFlight
        .slice(2, inFlightNamed)
        .map((c) => c.cluster)
        .join(', ')} and 490 more, counted by rollout status r1), left to finish`,
    );
    expect(inFlightLine({ inFlight: inFlight.slice(0, 1) }, 'left to finish')).toBe(
      '1 cluster was in flight (c1), left to finish',
    );
  });
});
