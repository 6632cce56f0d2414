/**
 * A schedule in words for review: each expression with its `H` values filled in, what it means,
 * the zone, and (only from an explicit reference time, so synth output never depends on today's
 * date) the first run times. "37 2 * * * (H 2 * * *): at 02:37 every day; Europe/Berlin; first runs
 * after 2026-11-21T00:00:00Z: 2026-11-21T02:37:00+01:00, ..."
 */
import type { CronExpression } from './cron.js';
import { nextRunTimes, type CompiledSchedule } from './schedule.js';
import type { Zone } from './zone.js';

const HASH_TOKEN = /^h(\(|\/|$)/i;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ORDINALS = ['1st', '2nd', '3rd', '4th', '5th'];
const MAX_LISTED_TIMES = 6;

/** The expression as written, with each `H` token replaced by the values it stands for. */
export function expandHashes(expression: CronExpression): string {
  let k = 0;
  return expression.text
    .trim()
    .split(/\s+/)
    .map((field) => field.split(',').map((entry) => (HASH_TOKEN.test(entry) ? compactList(expression.hashed[k++]!.values) : entry)).join(','))
    .join(' ');
}

/** What the expression means in words. */
export function describeExpression(expression: CronExpression): string {
  return `${timesOfDay(expression)} ${days(expression)}${months(expression)}${years(expression)}`;
}

/** The whole schedule on one line (the JobConfig's `taskplane.dev/schedule` annotation). */
export function describeSchedule(schedule: CompiledSchedule, options: { readonly previewFrom?: number; readonly previewCount?: number } = {}): string {
  const parts = schedule.expressions.map((e) => {
    const expanded = expandHashes(e);
    const written = e.text.trim().replace(/\s+/g, ' ');
    return `${expanded}${expanded === written ? '' : ` (${written})`}: ${describeExpression(e)}`;
  });
  parts.push(schedule.zone.name);
  if (schedule.notBefore !== undefined) parts.push(`not before ${isoSeconds(schedule.notBefore)}`);
  if (schedule.notAfter !== undefined) parts.push(`not after ${isoSeconds(schedule.notAfter)}`);
  if (schedule.disabled) parts.push('disabled');
  if (options.previewFrom !== undefined) {
    const times = nextRunTimes(schedule, options.previewFrom, options.previewCount ?? 3).map((t) => zonedIso(t, schedule.zone));
    parts.push(`first runs after ${isoSeconds(options.previewFrom)}: ${times.length > 0 ? times.join(', ') : 'none'}`);
  }
  return parts.join('; ');
}

/** `2026-12-01T02:37:00+01:00`: an instant in the zone's wall time and offset. */
export function zonedIso(epochMs: number, zone: Zone): string {
  const offset = zone.offsetMinutes(epochMs);
  const wall = new Date(epochMs + offset * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(offset);
  return `${wall}${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

function timesOfDay(e: CronExpression): string {
  const second = e.seconds.length === 1 && e.seconds[0] !== 0 ? e.seconds[0] : undefined;
  const clock = (h: number, m: number): string => `${pad2(h)}:${pad2(m)}${second !== undefined ? `:${pad2(second)}` : ''}`;
  if (e.seconds.length === 1 && e.hours.length * e.minutes.length <= MAX_LISTED_TIMES) {
    return `at ${e.hours.flatMap((h) => e.minutes.map((m) => clock(h, m))).join(', ')}`;
  }
  const secondPart = e.seconds.length === 60 ? 'every second' : `second ${compactList(e.seconds)}`;
  const minutePart = e.minutes.length === 60 ? 'every minute' : `minute ${compactList(e.minutes)}`;
  const hourPart = e.hours.length === 24 ? 'every hour' : `hour ${compactList(e.hours)}`;
  return `at ${e.seconds.length === 1 && e.seconds[0] === 0 ? '' : `${secondPart} of `}${minutePart} of ${hourPart}`;
}

function days(e: CronExpression): string {
  const { dayOfMonth: dom, dayOfWeek: dow } = e;
  if (dom.any && dow.any) return 'every day';
  const parts: string[] = [];
  if (!dom.any) {
    if (dom.days.size > 0) parts.push(`day ${compactList([...dom.days].sort((a, b) => a - b))}`);
    if (dom.last) parts.push('the last day');
    if (dom.lastWeekday) parts.push('the last weekday');
    for (const d of [...dom.nearestWeekday].sort((a, b) => a - b)) parts.push(`the weekday nearest day ${d}`);
  }
  if (!dow.any) {
    if (dow.days.size > 0) parts.push(compactList([...dow.days].sort((a, b) => a - b), WEEKDAY_NAMES));
    for (const { weekday, week } of dow.nth) parts.push(`the ${ORDINALS[week - 1]} ${WEEKDAY_NAMES[weekday]}`);
    for (const w of dow.last) parts.push(`the last ${WEEKDAY_NAMES[w]}`);
  }
  return `on ${parts.join(' or ')}${!dom.any ? ' of the month' : ''}`;
}

function months(e: CronExpression): string {
  return e.months.length === 12 ? '' : ` in ${compactList(e.months, ['', ...MONTH_NAMES])}`;
}

function years(e: CronExpression): string {
  return e.years.length === 130 ? '' : ` in ${compactList(e.years)}`;
}

/** `1-5,10,20-22`, or with names `Mon-Fri`. */
function compactList(values: readonly number[], names?: readonly string[]): string {
  const label = (v: number): string => names?.[v] ?? String(v);
  const out: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    out.push(j - i >= 2 ? `${label(values[i]!)}-${label(values[j]!)}` : values.slice(i, j + 1).map(label).join(','));
    i = j + 1;
  }
  return out.join(',');
}

function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('.000Z', 'Z');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
