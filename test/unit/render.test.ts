import { describe, expect, it } from 'vitest';
import { checkView, renderStatus, type StatusView } from '../../src/cli/render.js';
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

const render = (s: RolloutStatus, view: StatusView = {}) =>
  renderStatus({ status: s, shown: displayState(s), live: new Map() }, view);

describe('status at fleet scale', () => {
  it('counts each phase by state and lists only the clusters in flight or failed', () => {
    const s = fleet();
    const text = render(s);
    expect(text).toMatch(/wave-1 .*\b330\b.* 1 failed, 99 running, 140 succeeded, 90 pending/);
    expect(text).toMatch(/wave-3 .*\b330\b.* 330 pending/);
    const rows = text.split('\n').filter((l) => /^│ c\d+ /.test(l));
    expect(rows).toHaveLength(100); // the failed one and 99 in flight
    expect(text).toContain('pods not ready');
    expect(text).toContain('900 more not listed: 150 succeeded, 750 pending (--all, --phase NAME or --cluster NAME');
    expect(text.split('\n').length).toBeLessThan(150);
  });

  it('lists what the filters select, and refuses names the rollout does not have', () => {
    const s = fleet();
    const one = render(s, { cluster: ['c5', 'c900'] });
    expect(one.split('\n').filter((l) => /^│ c\d+ /.test(l))).toHaveLength(2);
    expect(one).not.toContain('more not listed');
    const canary = render(s, { phase: 'canary' });
    expect(canary.split('\n').filter((l) => /^│ c\d+ /.test(l))).toHaveLength(10);
    expect(
      render(s, { all: true })
        .split('\n')
        .filter((l) => /^│ c\d+ /.test(l)),
    ).toHaveLength(1000);
    expect(checkView(s, { cluster: ['c5', 'nope'], phase: 'wave-9' })).toBe(
      '--cluster: big has no cluster nope; --phase: big has no phase wave-9 (it has canary, wave-1, wave-2, wave-3)',
    );
    expect(checkView(s, { phase: 'canary' })).toBeUndefined();
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
