/**
 * Furiko's cron syntax (`furiko-io/cronexpr`, standard format; reference/furiko.md §7.1–7.2):
 * 5 fields `min hour dom month dow`, 6 fields `... year`, 7 fields `sec min hour dom month dow year`
 * (fields past the 7th are ignored); `*` `?` `a,b` `a-b` `*\/n` `/n` `a/n` `a-b/n`; month and weekday
 * names; weekday 0–7 (0 and 7 are Sunday); `L`, `nW`, `LW` in day-of-month; `nL`, `n#k` in
 * day-of-week; `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@hourly`; and `H`, `H/n`,
 * `H(a-b)`, `H(a-b)/n`, hashed from the JobConfig's `<namespace>/<name>` (per field by default).
 *
 * Two deliberate differences, both where cronexpr accepts something that silently never runs: a
 * range whose start is after its end is an error, and `7` ends a weekday range as Sunday (`5-7` is
 * Friday to Sunday; cronexpr reads `7` as 0 there and matches nothing).
 */
import { hashInRange, xxHash64 } from './xxhash64.js';

export type CronFieldName = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week' | 'year';

interface FieldSpec {
  readonly name: CronFieldName;
  readonly min: number;
  readonly max: number;
  /** `H` picks from min..hashMax (day-of-month: 1–28, so every month has the day). */
  readonly hashMax: number;
  readonly names?: Readonly<Record<string, number>>;
  readonly digits: RegExp;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_LONG = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEKDAY_LONG = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const byName = (short: string[], long: string[], first: number): Record<string, number> =>
  Object.fromEntries([...short.map((n, i) => [n, i + first]), ...long.map((n, i) => [n, i + first])]);

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59, hashMax: 59, digits: /^\d{1,2}$/ };
const MINUTE: FieldSpec = { ...SECOND, name: 'minute' };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23, hashMax: 23, digits: /^\d{1,2}$/ };
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31, hashMax: 28, digits: /^\d{1,2}$/ };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, hashMax: 12, names: byName(MONTHS, MONTH_LONG, 1), digits: /^\d{1,2}$/ };
// 7 is accepted as a value (Sunday) and folded to 0 after parsing.
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, hashMax: 6, names: byName(WEEKDAYS, WEEKDAY_LONG, 0), digits: /^\d{1,2}$/ };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2099, hashMax: 2099, digits: /^\d{4}$/ };

const ALIASES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 * *',
  '@annually': '0 0 0 1 1 * *',
  '@monthly': '0 0 0 1 * * *',
  '@weekly': '0 0 0 * * 0 *',
  '@daily': '0 0 0 * * * *',
  '@hourly': '0 0 * * * * *',
};

/** One `H` token and what it expanded to, for showing a schedule in review. */
export interface HashedToken {
  readonly field: CronFieldName;
  readonly token: string;
  readonly values: readonly number[];
}

export interface CronExpression {
  readonly text: string;
  /** Sorted, distinct. */
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: readonly number[];
  readonly years: readonly number[];
  readonly dayOfMonth: {
    /** `*` or `?`: every day (unless the weekday field is restricted). */
    readonly any: boolean;
    readonly days: ReadonlySet<number>;
    readonly last: boolean;
    readonly lastWeekday: boolean;
    /** `nW`: the weekday nearest to day n, within the month. */
    readonly nearestWeekday: ReadonlySet<number>;
  };
  readonly dayOfWeek: {
    readonly any: boolean;
    /** 0 = Sunday. */
    readonly days: ReadonlySet<number>;
    /** `n#k`. */
    readonly nth: readonly { readonly weekday: number; readonly week: number }[];
    /** `nL`: the last such weekday of the month. */
    readonly last: ReadonlySet<number>;
  };
  readonly hashed: readonly HashedToken[];
}

export interface CronParseOptions {
  /** The JobConfig's `<namespace>/<name>`, which `H` hashes. */
  readonly hashId: string;
  /**
   * Hash `<hashId>:<field>` per field (Furiko's `cronHashFields`), so `H H` is not the same number twice.
   * @default true - Furiko's default
   */
  readonly hashFields?: boolean;
}

export type CronParseResult = { readonly expression: CronExpression } | { readonly error: string };

interface Entry {
  values: number[];
  all?: boolean;
}

class CronSyntaxError extends Error {}

/** Parses one expression, or says what is wrong with it (the first problem). */
export function parseCron(text: string, options: CronParseOptions): CronParseResult {
  try {
    return { expression: parse(text, options) };
  } catch (error) {
    if (error instanceof CronSyntaxError) return { error: error.message };
    throw error;
  }
}

function parse(text: string, options: CronParseOptions): CronExpression {
  const normalized = text.replace(/@(yearly|annually|monthly|weekly|daily|hourly)/g, (alias) => ALIASES[alias]!);
  const fields = normalized.split(/\s+/).filter((f) => f !== '');
  if (fields.length < 5) throw new CronSyntaxError(`missing field(s): ${fields.length} of 5 to 7 (min hour day-of-month month day-of-week [year], or sec first with 7)`);
  const withSeconds = fields.length >= 7;
  const at = (i: number): string => fields[withSeconds ? i : i - 1]!;
  const hashed: HashedToken[] = [];
  const hashIdFor = (field: CronFieldName): string => (options.hashFields ?? true ? `${options.hashId}:${field}` : options.hashId);
  const context = { hashed, hashIdFor };

  const seconds = withSeconds ? values(at(0), SECOND, context) : [0];
  const minutes = values(at(1), MINUTE, context);
  const hours = values(at(2), HOUR, context);
  const dayOfMonth = parseDayOfMonth(at(3), context);
  const months = values(at(4), MONTH, context);
  const dayOfWeek = parseDayOfWeek(at(5), context);
  const yearField = withSeconds ? fields[6] : fields[5];
  const years = yearField === undefined ? range(YEAR.min, YEAR.max, 1) : values(yearField, YEAR, context);
  return { text, seconds, minutes, hours, months, years, dayOfMonth, dayOfWeek, hashed };
}

interface ParseContext {
  readonly hashed: HashedToken[];
  hashIdFor(field: CronFieldName): string;
}

function values(field: string, spec: FieldSpec, context: ParseContext): number[] {
  const set = new Set<number>();
  for (const entry of entries(field, spec)) for (const v of parseEntry(entry, spec, context).values) set.add(v);
  return [...set].sort((a, b) => a - b);
}

function entries(field: string, spec: FieldSpec): string[] {
  const list = field.split(',').filter((e) => e !== '');
  if (list.length === 0) throw new CronSyntaxError(`${spec.name} field: missing directive`);
  return list;
}

const HASH = /^h(?:\((\w+)-(\w+)\))?(?:\/(\d+))?$/;
const STEP = /^(.*)\/(\d+)$/;

function parseEntry(raw: string, spec: FieldSpec, context: ParseContext): Entry {
  const entry = raw.toLowerCase();
  const bad = (why = 'syntax error'): CronSyntaxError => new CronSyntaxError(`${why} in ${spec.name} field: '${raw}'`);
  const hash = HASH.exec(entry);
  if (hash) return { values: hashEntry(raw, hash, spec, context, bad) };
  if (entry === '*' || entry === '?') return { values: range(spec.min, spec === DOW ? 6 : spec.max, 1), all: true };
  let body = entry;
  let step = 1;
  let stepped = false;
  const stepMatch = STEP.exec(entry);
  if (stepMatch) {
    body = stepMatch[1]!;
    step = stepOf(stepMatch[2]!, spec, raw);
    stepped = true;
  }
  let first: number;
  let last: number;
  if (body === '*' || (stepped && body === '')) {
    [first, last] = [spec.min, spec === DOW ? 6 : spec.max];
  } else if (body.includes('-')) {
    const [a, b, ...rest] = body.split('-');
    if (rest.length > 0) throw bad();
    first = value(a!, spec, bad);
    last = value(b!, spec, bad);
    if (first > last) throw bad('range start is after its end');
  } else {
    first = value(body, spec, bad);
    last = stepped ? (spec === DOW ? 6 : spec.max) : first;
  }
  return { values: range(first, last, step).map((v) => (spec === DOW ? v % 7 : v)) };
}

function hashEntry(raw: string, match: RegExpExecArray, spec: FieldSpec, context: ParseContext, bad: (why?: string) => CronSyntaxError): number[] {
  const hash = xxHash64(context.hashIdFor(spec.name));
  const [, from, to, stepText] = match;
  const low = from === undefined ? spec.min : value(from, spec, bad);
  const high = to === undefined ? spec.hashMax : value(to, spec, bad);
  if (low > high) throw bad('range start is after its end');
  let result: number[];
  if (stepText === undefined) {
    result = [hashInRange(hash, low, high)];
  } else {
    const step = stepOf(stepText, spec, raw);
    // H/n starts at hash(0..n-1) from the range's start (the field's minimum without a range).
    const top = to === undefined ? (spec === DOW ? 6 : spec.max) : high;
    result = range(low + hashInRange(hash, 0, step - 1), top, step);
  }
  result = result.map((v) => (spec === DOW ? v % 7 : v));
  context.hashed.push({ field: spec.name, token: raw, values: [...new Set(result)].sort((a, b) => a - b) });
  return result;
}

function stepOf(text: string, spec: FieldSpec, raw: string): number {
  const step = Number(text);
  const max = spec === DOW ? 6 : spec.max;
  if (!/^\d+$/.test(text) || step < 1 || step > max) throw new CronSyntaxError(`invalid interval in ${spec.name} field: '${raw}' (the step must be 1 to ${max})`);
  return step;
}

function value(text: string, spec: FieldSpec, bad: (why?: string) => CronSyntaxError): number {
  const named = spec.names?.[text];
  if (named !== undefined) return named;
  if (!spec.digits.test(text)) throw bad();
  const v = Number(text);
  if (v < spec.min || v > spec.max) throw bad(`value out of range ${spec.min}-${spec.max}`);
  return v;
}

function range(first: number, last: number, step: number): number[] {
  const out: number[] = [];
  for (let v = first; v <= last; v += step) out.push(v);
  return out;
}

const LAST_WEEKDAY_OF_MONTH = 'lw';
const NEAREST_WEEKDAY = /^(\d{1,2})w$/;

function parseDayOfMonth(field: string, context: ParseContext): CronExpression['dayOfMonth'] {
  const days = new Set<number>();
  const nearestWeekday = new Set<number>();
  let any = false;
  let last = false;
  let lastWeekday = false;
  for (const raw of entries(field, DOM)) {
    const entry = raw.toLowerCase();
    const nearest = NEAREST_WEEKDAY.exec(entry);
    if (entry === 'l') last = true;
    else if (entry === LAST_WEEKDAY_OF_MONTH) lastWeekday = true;
    else if (nearest) nearestWeekday.add(value(nearest[1]!, DOM, (why = 'syntax error') => new CronSyntaxError(`${why} in day-of-month field: '${raw}'`)));
    else {
      const parsed = parseEntry(raw, DOM, context);
      if (parsed.all) any = true;
      for (const v of parsed.values) days.add(v);
    }
  }
  return { any, days, last, lastWeekday, nearestWeekday };
}

const NTH_WEEKDAY = /^(\w+)#([1-5])$/;
const LAST_OF_WEEKDAY = /^(\w+)l$/;

function parseDayOfWeek(field: string, context: ParseContext): CronExpression['dayOfWeek'] {
  const days = new Set<number>();
  const nth: { weekday: number; week: number }[] = [];
  const last = new Set<number>();
  let any = false;
  for (const raw of entries(field, DOW)) {
    const entry = raw.toLowerCase();
    const bad = (why = 'syntax error'): CronSyntaxError => new CronSyntaxError(`${why} in day-of-week field: '${raw}'`);
    const nthMatch = NTH_WEEKDAY.exec(entry);
    const lastMatch = entry.startsWith('h') ? null : LAST_OF_WEEKDAY.exec(entry);
    if (nthMatch) nth.push({ weekday: value(nthMatch[1]!, DOW, bad) % 7, week: Number(nthMatch[2]) });
    else if (lastMatch) last.add(value(lastMatch[1]!, DOW, bad) % 7);
    else {
      const parsed = parseEntry(raw, DOW, context);
      if (parsed.all) any = true;
      for (const v of parsed.values) days.add(v);
    }
  }
  return { any, days, nth, last };
}

/** Days of the month the expression allows, sorted (cronexpr's rule: if both day fields are restricted, either matches). */
export function daysInMonthMatching(expression: CronExpression, year: number, month: number): number[] {
  const length = daysInMonth(year, month);
  const { dayOfMonth: dom, dayOfWeek: dow } = expression;
  if (dom.any && dow.any) return range(1, length, 1);
  const days = new Set<number>();
  if (!dom.any) {
    if (dom.last) days.add(length);
    if (dom.lastWeekday) days.add(nearestWeekday(year, month, length, length));
    for (const d of dom.days) if (d <= length) days.add(d);
    for (const d of dom.nearestWeekday) if (d <= length) days.add(nearestWeekday(year, month, d, length));
  }
  if (!dow.any) {
    const firstWeekday = weekday(year, month, 1);
    for (let d = 1; d <= length; d++) if (dow.days.has((firstWeekday + d - 1) % 7)) days.add(d);
    for (const { weekday: w, week } of dow.nth) {
      const d = 1 + 7 * (week - 1) + ((w - firstWeekday + 7) % 7);
      if (d <= length) days.add(d);
    }
    const lastWeekStart = length - 6;
    const lastWeekStartWeekday = weekday(year, month, lastWeekStart);
    for (const w of dow.last) days.add(lastWeekStart + ((w - lastWeekStartWeekday + 7) % 7));
  }
  return [...days].sort((a, b) => a - b);
}

/** `nW`: a Saturday moves to Friday (or Monday the 3rd, from the 1st), a Sunday to Monday (or Friday, from the last day). */
function nearestWeekday(year: number, month: number, day: number, length: number): number {
  const w = weekday(year, month, day);
  if (w === 6) return day > 1 ? day - 1 : day + 2;
  if (w === 0) return day < length ? day + 1 : day - 2;
  return day;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 = Sunday. */
export function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}
