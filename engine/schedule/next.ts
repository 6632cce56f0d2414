/**
 * `nextTime(expression, zone, after)`: the first instant strictly after `after` (second granularity)
 * at which the expression's wall-clock time occurs in the zone.
 *
 * Daylight saving time, decided here because cronexpr's answer is surprising for nightly jobs:
 * - **Spring forward**: wall times that do not exist that day (02:30 in Europe/Berlin on the last
 *   Sunday of March) run once, at the instant the clocks jump (03:00 CEST). cronexpr skips them, so a
 *   nightly 02:30 job would silently not run that night; Vixie cron runs them right after the jump too.
 * - **Fall back**: wall times that occur twice (01:30 on the last Sunday of October) run once, at
 *   their first occurrence, unless the expression runs every hour (hour field `*`): then it follows
 *   real time and runs in both occurrences, so an hourly job still runs every hour.
 *
 * Pure: no clock, no machine time zone; `zone` supplies the UTC offsets.
 */
import { daysInMonthMatching, type CronExpression } from './cron.js';
import type { Zone } from './zone.js';

const DAY = 86_400;
/** Wall day D's instants lie within [D - 14 h, D + 24 h + 12 h]: the extreme UTC offsets. */
const EARLIEST_OFFSET = 14 * 3600;
const LATEST_OFFSET = 12 * 3600;

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** The next run time after `afterMs` (epoch ms), in epoch ms; undefined when there is none (years end at 2099). */
export function nextTime(expression: CronExpression, zone: Zone, afterMs: number): number | undefined {
  const afterS = Math.floor(afterMs / 1000);
  const wall = afterS + zone.offsetMinutes(afterS * 1000) * 60;
  // A day early: an instant's wall date can be a day past a date whose repeated hour is still ahead.
  let date = nextMatchingDate(expression, localDate(wall - DAY));
  while (date) {
    const found = firstInDay(expression, zone, date, afterS);
    if (found !== undefined) return found * 1000;
    date = nextMatchingDate(expression, localDate(dayStart(date) + DAY));
  }
  return undefined;
}

/** The first run time in wall day `date` that is after `afterS`, in epoch seconds. */
function firstInDay(expression: CronExpression, zone: Zone, date: LocalDate, afterS: number): number | undefined {
  const start = dayStart(date);
  const windowStart = start - EARLIEST_OFFSET;
  const windowEnd = start + DAY + LATEST_OFFSET;
  const before = zone.offsetMinutes(windowStart * 1000) * 60;
  const after = zone.offsetMinutes(windowEnd * 1000) * 60;
  // A segment: wall seconds [from, to) of this day, at one UTC offset.
  const inSegment = (from: number, to: number, offset: number): number | undefined => {
    const lowest = Math.max(from, 0, afterS - start + offset + 1);
    const tod = nextTimeOfDay(expression, lowest);
    return tod !== undefined && tod < Math.min(to, DAY) ? start + tod - offset : undefined;
  };
  if (before === after) return inSegment(0, DAY, before);

  const transition = firstInstantWithOffset(zone, windowStart, windowEnd, before);
  const oldWall = transition - start + before;
  const newWall = transition - start + after;
  if (after > before) {
    // Spring forward: [oldWall, newWall) does not exist; a match in it runs at the jump.
    const gapTod = nextTimeOfDay(expression, Math.max(oldWall, 0));
    const inGap = gapTod !== undefined && gapTod < Math.min(newWall, DAY) && transition > afterS;
    return inSegment(0, oldWall, before) ?? (inGap ? transition : undefined) ?? inSegment(newWall, DAY, after);
  }
  // Fall back: [newWall, oldWall) occurs twice.
  const repeated = expression.hours.length === 24 ? inSegment(newWall, oldWall, after) : undefined;
  return inSegment(0, oldWall, before) ?? repeated ?? inSegment(oldWall, DAY, after);
}

/** The first instant in (from, to] whose offset is not `offsetBefore` (binary search, 1 s resolution). */
function firstInstantWithOffset(zone: Zone, from: number, to: number, offsetBefore: number): number {
  let low = from;
  let high = to;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offsetMinutes(middle * 1000) * 60 === offsetBefore) low = middle;
    else high = middle;
  }
  return high;
}

/** The first matching time of day at or after `lowest` seconds, in seconds. */
export function nextTimeOfDay(expression: CronExpression, lowest: number): number | undefined {
  if (lowest >= DAY) return undefined;
  const h0 = Math.floor(lowest / 3600);
  const m0 = Math.floor((lowest % 3600) / 60);
  const s0 = lowest % 60;
  for (const h of expression.hours) {
    if (h < h0) continue;
    for (const m of expression.minutes) {
      if (h === h0 && m < m0) continue;
      const floor = h === h0 && m === m0 ? s0 : 0;
      const s = expression.seconds.find((v) => v >= floor);
      if (s !== undefined) return h * 3600 + m * 60 + s;
    }
  }
  return undefined;
}

/** The first date on or after `from` that the date fields allow. */
function nextMatchingDate(expression: CronExpression, from: LocalDate): LocalDate | undefined {
  for (const year of expression.years) {
    if (year < from.year) continue;
    for (const month of expression.months) {
      if (year === from.year && month < from.month) continue;
      const floor = year === from.year && month === from.month ? from.day : 1;
      const day = daysInMonthMatching(expression, year, month).find((d) => d >= floor);
      if (day !== undefined) return { year, month, day };
    }
  }
  return undefined;
}

function dayStart(date: LocalDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / 1000;
}

function localDate(wallSeconds: number): LocalDate {
  const d = new Date(wallSeconds * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}
