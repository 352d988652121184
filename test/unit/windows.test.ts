import { describe, expect, it } from 'vitest';
import { localTime, waitingLine, windowVerdict } from '../../src/domain/windows.js';
import { DeployWindow } from '../../src/plan/schema.js';

const w = (x: Record<string, unknown>) => DeployWindow.parse({ name: 'w', kind: 'allow', duration: '1h', ...x });
const cluster = { name: 'ew1-a', labels: { region: 'eu-west' } };
const at = (iso: string) => new Date(iso).getTime();

describe('deploy windows', () => {
  const business = w({ name: 'eu-business-hours', schedule: '0 8 * * 1-5', duration: '9h', timeZone: 'Europe/Paris' });

  it('no windows: always open; an allow window: open inside it, else waits for its next opening', () => {
    expect(windowVerdict([], cluster, 'p', at('2026-12-05T03:00:00Z'))).toEqual({ open: true });
    expect(windowVerdict([business], cluster, 'p', at('2026-12-01T10:00:00Z'))).toEqual({ open: true });
    // Tuesday 2026-12-01 at 19:00 Paris time is after hours: it opens Wednesday 08:00 (07:00Z in winter).
    const v = windowVerdict([business], cluster, 'p', at('2026-12-01T18:00:00Z'));
    expect(v).toEqual({ open: false, window: 'eu-business-hours', kind: 'allow', opensAt: at('2026-12-02T07:00:00Z') });
    expect(waitingLine(v as Extract<typeof v, { open: false }>, [business])).toBe(
      'waiting for window eu-business-hours, opens 2026-12-02T08:00+01:00',
    );
    // Friday evening waits for Monday.
    expect(windowVerdict([business], cluster, 'p', at('2026-12-04T17:30:00Z'))).toMatchObject({
      opensAt: at('2026-12-07T07:00:00Z'),
    });
  });

  it('after thousands of denials says how far it looked, never "does not open", and finds the opening from there', () => {
    // Hourly allow windows, each covered by a winter deny window until March: about 4,300 steps to walk.
    const hourly = w({ name: 'hourly', schedule: '0 * * * *', duration: '10m' });
    const winter = w({ name: 'winter', kind: 'deny', schedule: '0 * * 12,1,2 *', duration: '15m' });
    let v = windowVerdict([hourly, winter], cluster, 'p', at('2026-12-03T09:20:00Z'));
    expect(v).toMatchObject({ open: false, window: 'hourly', kind: 'allow', searchedUntil: expect.any(Number) });
    const first = v as Extract<typeof v, { open: false }>;
    expect(waitingLine(first, [hourly, winter])).toMatch(
      /^waiting for window hourly, no opening before 2026-12-\d\dT\d\d:\d\d\+00:00 \(looked that far; looks further then\)$/,
    );
    // The rollout waits until then and looks again, as often as it takes.
    for (let i = 0; i < 10 && !v.open && v.opensAt === undefined && v.searchedUntil !== undefined; i++) {
      v = windowVerdict([hourly, winter], cluster, 'p', v.searchedUntil);
    }
    expect(v).toMatchObject({ open: false, opensAt: at('2027-03-01T00:00:00Z') });
  });

  it('deny wins over allow, and a cluster may start when the deny ends inside an allow', () => {
    const freeze = w({
      name: 'lunch-freeze',
      kind: 'deny',
      schedule: '0 12 * * *',
      duration: '2h',
      timeZone: 'Europe/Paris',
    });
    const v = windowVerdict([business, freeze], cluster, 'p', at('2026-12-01T11:30:00Z'));
    expect(v).toEqual({ open: false, window: 'lunch-freeze', kind: 'deny', opensAt: at('2026-12-01T13:00:00Z') });
    expect(waitingLine(v as Extract<typeof v, { open: false }>, [business, freeze])).toBe(
      'held by deny window lunch-freeze; may start 2026-12-01T14:00+01:00',
    );
  });

  it('applies only where scoped: phases, clusters, labels', () => {
    const deny = (scope: Record<string, unknown>) => [
      w({ kind: 'deny', schedule: '* * * * *', duration: '2m', ...scope }),
    ];
    const now = at('2026-12-01T10:00:30Z');
    expect(windowVerdict(deny({ phases: ['us'] }), cluster, 'eu', now).open).toBe(true);
    expect(windowVerdict(deny({ phases: ['eu'] }), cluster, 'eu', now).open).toBe(false);
    expect(windowVerdict(deny({ clusters: ['ew1-a'] }), cluster, 'eu', now).open).toBe(false);
    expect(windowVerdict(deny({ selector: { matchLabels: { region: 'us-east' } } }), cluster, 'eu', now).open).toBe(
      true,
    );
    expect(windowVerdict(deny({}), cluster, 'eu', now, ['w']).open, 'an overridden window is set aside').toBe(true);
  });

  it('follows daylight saving time through the cron library: 08:00 Paris is 07:00Z in winter, 06:00Z in summer', () => {
    // The clocks go forward on Sunday 2026-03-29; the Friday before and the Monday after differ by an hour in UTC.
    expect(windowVerdict([business], cluster, 'p', at('2026-03-27T17:00:00Z'))).toMatchObject({
      opensAt: at('2026-03-30T06:00:00Z'),
    });
    expect(localTime(at('2026-03-30T06:00:00Z'), 'Europe/Paris')).toBe('2026-03-30T08:00+02:00');
    // And back on Sunday 2026-10-25.
    expect(windowVerdict([business], cluster, 'p', at('2026-10-23T17:00:00Z'))).toMatchObject({
      opensAt: at('2026-10-26T07:00:00Z'),
    });
  });

  it('a window that never lets a cluster start has no opening', () => {
    const always = w({ kind: 'deny', schedule: '* * * * *', duration: '5m' });
    const v = windowVerdict([always], cluster, 'p', at('2026-12-01T10:00:00Z'));
    expect(v.open).toBe(false);
    expect(v.open === false && v.opensAt).toBeUndefined();
  });
});
