/**
 * Properties of `nextTime`, for random expressions, zones with and without DST (including a
 * 30-minute one and one whose transitions are at midnight) and start instants in 2026–2031:
 * the result is strictly after the input and matches the expression, and (checked minute by minute
 * over up to two days) no matching instant lies between them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daysInMonthMatching, parseCron, type CronExpression } from '../../engine/schedule/cron.js';
import { nextTime } from '../../engine/schedule/next.js';
import { parseTimezone, type Zone } from '../../engine/schedule/zone.js';

const ZONES = ['UTC', 'UTC+05:30', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago'];

const minuteField = fc.oneof(fc.constant('*'), fc.integer({ min: 0, max: 59 }).map(String), fc.integer({ min: 1, max: 30 }).map((n) => `*/${n}`), fc.constant('H'), fc.constant('H/20'));
const hourField = fc.oneof(fc.constant('*'), fc.integer({ min: 0, max: 23 }).map(String), fc.constantFrom('1-3', '2', '0,12', '*/6', 'H', 'H(1-3)'));
const domField = fc.constantFrom('*', '?', '1', '15', 'L', 'LW', '15W', '1-7', '*/10', 'H', '31');
const monthField = fc.constantFrom('*', '3', '10', 'mar,oct', '*/2', 'H');
const dowField = fc.constantFrom('*', '?', '0', 'mon-fri', '5L', '0#1', '6#2', '7', 'H');
const expressionText = fc.tuple(minuteField, hourField, domField, monthField, dowField).map((fields) => fields.join(' '));

/** Expressions whose times fall in DST gaps and repeated hours: every day, around 00:00–03:00. */
const nightExpressionText = fc
  .tuple(minuteField, fc.constantFrom('*', '0', '1', '2', '3', '1-3', '0,2', 'H(0-3)', '*/2'), fc.constantFrom('*', '?'), fc.constantFrom('*', '?'))
  .map(([minute, hour, dom, dow]) => `${minute} ${hour} ${dom} * ${dow}`);
const DST_ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago'];

const START = Date.UTC(2026, 0, 1);
const END = Date.UTC(2031, 0, 1);
// Transition days are where the bugs live: half of the start instants are near one.
const NEAR_TRANSITIONS = [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6), Date.UTC(2026, 3, 5, 3), Date.UTC(2026, 9, 4, 2), Date.UTC(2026, 8, 6, 4)];
const instant = fc.oneof(
  fc.integer({ min: START, max: END }),
  fc.tuple(fc.constantFrom(...NEAR_TRANSITIONS), fc.integer({ min: -6 * 3600_000, max: 6 * 3600_000 })).map(([t, d]) => t + d),
);

function zoneOf(name: string): Zone {
  const z = parseTimezone(name);
  if ('error' in z) throw new Error(z.error);
  return z;
}

/** An independent statement of the semantics (next.ts's header), one instant at a time. */
function matchesAt(expression: CronExpression, zone: Zone, seconds: number): boolean {
  const offset = zone.offsetMinutes(seconds * 1000) * 60;
  const earlierOffset = zone.offsetMinutes((seconds - 6 * 3600) * 1000) * 60;
  if (earlierOffset < offset && zone.offsetMinutes((seconds - 1) * 1000) * 60 < offset) {
    // The first instant after a spring-forward gap: the gap's wall times run here.
    for (let wall = seconds + earlierOffset; wall < seconds + offset; wall++) if (wallMatches(expression, wall)) return true;
  }
  if (!wallMatches(expression, seconds + offset)) return false;
  if (earlierOffset > offset && expression.hours.length < 24) {
    // Second occurrence of a repeated wall time: only hourly schedules run again.
    const firstOccurrence = seconds + offset - earlierOffset;
    if (zone.offsetMinutes(firstOccurrence * 1000) * 60 === earlierOffset) return false;
  }
  return true;
}

function wallMatches(expression: CronExpression, wall: number): boolean {
  const d = new Date(wall * 1000);
  return (
    expression.years.includes(d.getUTCFullYear()) &&
    expression.months.includes(d.getUTCMonth() + 1) &&
    daysInMonthMatching(expression, d.getUTCFullYear(), d.getUTCMonth() + 1).includes(d.getUTCDate()) &&
    expression.hours.includes(d.getUTCHours()) &&
    expression.minutes.includes(d.getUTCMinutes()) &&
    expression.seconds.includes(d.getUTCSeconds())
  );
}

describe('nextTime properties', () => {
  it('is strictly after the input, matches the expression, and nothing between them matches', () => {
    fc.assert(
      fc.property(expressionText, fc.constantFrom(...ZONES), instant, (text, zoneName, after) => {
        const parsed = parseCron(text, { hashId: 'batch/nightly' });
        if ('error' in parsed) throw new Error(`${text}: ${parsed.error}`);
        const zone = zoneOf(zoneName);
        const next = nextTime(parsed.expression, zone, after);
        if (next === undefined) return; // e.g. "31W" in February only: no match is fine, checked elsewhere
        expect(next).toBeGreaterThan(after);
        expect(next % 1000).toBe(0);
        expect(matchesAt(parsed.expression, zone, next / 1000), `${text} in ${zoneName} after ${new Date(after).toISOString()}: ${new Date(next).toISOString()}`).toBe(true);
        const horizon = Math.min(next / 1000, Math.floor(after / 1000) + 2 * 86_400);
        for (let s = Math.floor(after / 60_000) * 60 + 60; s < horizon; s += 60) {
          if (matchesAt(parsed.expression, zone, s)) expect.fail(`${text} in ${zoneName}: ${new Date(s * 1000).toISOString()} matches before ${new Date(next).toISOString()}`);
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('holds around DST transitions (every-day expressions at night, starts within hours of a transition)', () => {
    const nearTransition = fc.tuple(fc.constantFrom(...NEAR_TRANSITIONS), fc.integer({ min: -12 * 3600_000, max: 4 * 3600_000 })).map(([t, d]) => t + d);
    fc.assert(
      fc.property(nightExpressionText, fc.constantFrom(...DST_ZONES), nearTransition, (text, zoneName, after) => {
        const parsed = parseCron(text, { hashId: 'batch/nightly' });
        if ('error' in parsed) throw new Error(`${text}: ${parsed.error}`);
        const zone = zoneOf(zoneName);
        const next = nextTime(parsed.expression, zone, after)!;
        expect(next).toBeGreaterThan(after);
        expect(matchesAt(parsed.expression, zone, next / 1000), `${text} in ${zoneName} after ${new Date(after).toISOString()}: ${new Date(next).toISOString()}`).toBe(true);
        for (let s = Math.floor(after / 60_000) * 60 + 60; s < next / 1000; s += 60) {
          if (matchesAt(parsed.expression, zone, s)) expect.fail(`${text} in ${zoneName}: ${new Date(s * 1000).toISOString()} matches before ${new Date(next).toISOString()}`);
        }
      }),
      { numRuns: 400 },
    );
  }, 120_000);

  it('walking from one run to the next never goes backwards or repeats an instant', () => {
    fc.assert(
      fc.property(expressionText, fc.constantFrom(...ZONES), instant, (text, zoneName, after) => {
        const parsed = parseCron(text, { hashId: 'batch/nightly' });
        if ('error' in parsed) throw new Error(parsed.error);
        const zone = zoneOf(zoneName);
        let t: number | undefined = after;
        for (let i = 0; i < 20 && t !== undefined; i++) {
          const n = nextTime(parsed.expression, zone, t);
          if (n !== undefined) expect(n).toBeGreaterThan(t);
          t = n;
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
