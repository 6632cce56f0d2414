/**
 * A JobConfig's schedule: validation with field paths, several expressions, notBefore/notAfter,
 * Furiko's catch-up rules (reference/furiko.md §7.4), run names, and the review summary.
 */
import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../../engine/errors.js';
import { describeSchedule } from '../../engine/schedule/describe.js';
import { compileSchedule, dueRuns, nextRunTime, nextRunTimes, scheduledRunName, scheduleFrom, type CompiledSchedule } from '../../engine/schedule/schedule.js';
import type { ScheduleSpec } from '../../engine/schema/resources.js';

const T = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z'));

function compile(spec: ScheduleSpec, name = 'nightly'): CompiledSchedule {
  const { schedule, errors } = compileSchedule(spec, 'batch', name);
  if (!schedule) throw new Error(errors.map(formatFieldError).join('\n'));
  return schedule;
}

describe('compileSchedule', () => {
  it('reports every problem with its field, value and what would be valid', () => {
    const { schedule, errors } = compileSchedule(
      {
        cron: { expressions: ['0 2 * * *', '61 * * * *', 'H H * *'], timezone: 'Europe/Berln' },
        constraints: { notBefore: '2026-12-01T00:00:00Z', notAfter: '2026-11-01T00:00:00Z' },
      },
      'batch',
      'a-job-config-name-that-is-far-too-long',
    );
    expect(schedule).toBeUndefined();
    expect(errors.map(formatFieldError)).toEqual([
      expect.stringMatching(/^spec\.schedule\.cron\.expressions\[1\]: cannot parse cron schedule: value out of range 0-59 in minute field: '61' \(got "61 \* \* \* \*"\); valid: 5 fields/),
      expect.stringMatching(/^spec\.schedule\.cron\.expressions\[2\]: cannot parse cron schedule: missing field\(s\)/),
      expect.stringMatching(/^spec\.schedule\.cron\.timezone: cannot parse timezone: unknown time zone \(got "Europe\/Berln"\); valid: .*did you mean "Europe\/Berlin"/),
      'spec.schedule.constraints.notAfter: is before notBefore, so the schedule would never run (got "2026-11-01T00:00:00Z"); valid: a time at or after 2026-12-01T00:00:00Z',
      'metadata.name: is too long for a schedule: its runs are named <name>-<unixSeconds>, at most 46 characters (got "a-job-config-name-that-is-far-too-long"); valid: at most 35 characters',
    ]);
  });

  it('needs exactly one of expression and expressions', () => {
    expect(compileSchedule({ cron: {} }, 'batch', 'x').errors.map((e) => e.field)).toEqual(['spec.schedule.cron.expression']);
    expect(compileSchedule({ cron: { expressions: [] } }, 'batch', 'x').errors.map((e) => e.field)).toEqual(['spec.schedule.cron.expression']);
    expect(compileSchedule({ cron: { expression: '@daily', expressions: ['@hourly'] } }, 'batch', 'x').errors.map((e) => e.field)).toEqual(['spec.schedule.cron']);
  });

  it('hashes H from <namespace>/<name>: the same spec in another namespace runs at another time', () => {
    const spec = { cron: { expression: 'H H * * *' } };
    const a = nextRunTime(compile(spec), T('2026-11-29T00:00:00Z'));
    const b = nextRunTime(compileSchedule(spec, 'other', 'nightly').schedule!, T('2026-11-29T00:00:00Z'));
    expect(a).not.toBe(b);
  });
});

describe('nextRunTime', () => {
  it('takes the earliest of several expressions; coinciding times are one run', () => {
    const schedule = compile({ cron: { expressions: ['0 */6 * * *', '0 3 * * *', '0 12 * * *'] } });
    expect(nextRunTimes(schedule, T('2026-11-29T00:00:00Z'), 5).map(iso)).toEqual([
      '2026-11-29T03:00:00Z', '2026-11-29T06:00:00Z', '2026-11-29T12:00:00Z', '2026-11-29T18:00:00Z', '2026-11-30T00:00:00Z',
    ]);
  });

  it('reads the expression in the zone', () => {
    expect(iso(nextRunTime(compile({ cron: { expression: '0 2 * * *', timezone: 'America/New_York' } }), T('2026-11-29T00:00:00Z')))).toBe('2026-11-29T07:00:00Z');
  });

  it('starts at notBefore (inclusive) and ends after notAfter', () => {
    const schedule = compile({ cron: { expression: '0 2 * * *' }, constraints: { notBefore: '2026-12-01T02:00:00Z', notAfter: '2026-12-03T02:00:00Z' } });
    expect(nextRunTimes(schedule, T('2026-11-01T00:00:00Z'), 10).map(iso)).toEqual(['2026-12-01T02:00:00Z', '2026-12-02T02:00:00Z', '2026-12-03T02:00:00Z']);
  });
});

describe('catch-up (Furiko: maxMissedSchedules 5, downtime threshold 300 s)', () => {
  const minutely = compile({ cron: { expression: '* * * * *' } });
  const now = T('2026-11-29T12:00:30Z');

  it('starts from now without a last schedule time: nothing is back-scheduled', () => {
    expect(iso(scheduleFrom(minutely, { now }))).toBe('2026-11-29T12:00:30Z');
  });

  it('starts from the last schedule time after a short downtime', () => {
    const from = scheduleFrom(minutely, { now, lastScheduled: T('2026-11-29T11:58:00Z') });
    expect(iso(from)).toBe('2026-11-29T11:58:00Z');
    expect(dueRuns(minutely, from, now).due.map(iso)).toEqual(['2026-11-29T11:59:00Z', '2026-11-29T12:00:00Z']);
  });

  it('looks back no further than the downtime threshold', () => {
    const from = scheduleFrom(minutely, { now, lastScheduled: T('2026-11-29T09:00:00Z') });
    expect(iso(from)).toBe('2026-11-29T11:55:30Z');
  });

  it('creates at most maxMissedSchedules in one pass, oldest first, then skips ahead to after now', () => {
    const result = dueRuns(minutely, T('2026-11-29T11:52:00Z'), now);
    expect(result.due.map(iso)).toEqual(['2026-11-29T11:53:00Z', '2026-11-29T11:54:00Z', '2026-11-29T11:55:00Z', '2026-11-29T11:56:00Z', '2026-11-29T11:57:00Z']);
    expect(result.skipped).toBe(3);
    expect(iso(result.from)).toBe('2026-11-29T12:00:30Z');
    expect(iso(result.next)).toBe('2026-11-29T12:01:00Z');
  });

  it('with maxMissedSchedules 0 never back-schedules, and creates the run that is due', () => {
    const policy = { maxMissedSchedules: 0 };
    const from = scheduleFrom(minutely, { now, lastScheduled: T('2026-11-29T11:58:00Z') }, policy);
    expect(iso(from)).toBe(iso(now));
    expect(dueRuns(minutely, T('2026-11-29T11:59:30Z'), now, policy).due.map(iso)).toEqual(['2026-11-29T12:00:00Z']);
  });

  it('does not back-schedule from before the schedule last changed, nor before notBefore', () => {
    expect(iso(scheduleFrom(minutely, { now, lastScheduled: T('2026-11-29T11:58:00Z'), lastUpdated: T('2026-11-29T11:59:10Z') }))).toBe('2026-11-29T11:59:10Z');
    const later = compile({ cron: { expression: '* * * * *' }, constraints: { notBefore: '2026-11-29T12:00:00Z' } });
    const from = scheduleFrom(later, { now, lastScheduled: T('2026-11-29T11:58:00Z') });
    expect(dueRuns(later, from, now).due.map(iso)).toEqual(['2026-11-29T12:00:00Z']);
  });

  it('nothing due: the next time is reported and the cursor stays', () => {
    const daily = compile({ cron: { expression: '0 2 * * *' } });
    expect(dueRuns(daily, now, now)).toEqual({ due: [], skipped: 0, from: now, next: T('2026-11-30T02:00:00Z') });
  });
});

describe('run names and the review summary', () => {
  it('names a run <config>-<unixSeconds> of its due time', () => {
    expect(scheduledRunName('database-backup', T('2026-12-01T01:37:00Z'))).toBe('database-backup-1796089020');
  });

  it('summarizes with H values expanded, the zone and the first runs after a fixed reference', () => {
    const schedule = compile({ cron: { expression: 'H 2 * * *', timezone: 'Europe/Berlin' } }, 'database-backup');
    const minute = schedule.expressions[0]!.minutes[0]!;
    const mm = String(minute).padStart(2, '0');
    expect(describeSchedule(schedule, { previewFrom: T('2026-11-21T00:00:00Z') })).toBe(
      `${minute} 2 * * * (H 2 * * *): at 02:${mm} every day; Europe/Berlin; first runs after 2026-11-21T00:00:00Z: ` +
        `2026-11-21T02:${mm}:00+01:00, 2026-11-22T02:${mm}:00+01:00, 2026-11-23T02:${mm}:00+01:00`,
    );
    expect(describeSchedule(compile({ cron: { expressions: ['*/15 9-17 * * mon-fri', '0 0 L * *'] }, disabled: true }))).toBe(
      '*/15 9-17 * * mon-fri: at minute 0,15,30,45 of hour 9-17 on Mon-Fri; 0 0 L * *: at 00:00 on the last day of the month; UTC; disabled',
    );
  });
});
