/**
 * Date options: strict RFC 3339 parsing that keeps the input's UTC offset, and moment.js-style
 * formatting in that offset.
 *
 * Formatting must not depend on the machine's time zone (synth in CI and the watcher in the
 * cluster must render identical text), so dayjs only ever sees a UTC instance whose wall clock is
 * the input's wall clock; the tokens that depend on the real instant or offset (`Z`, `ZZ`, `z`,
 * `X`, `x`) are rendered here.
 */
import dayjs, { type Dayjs } from 'dayjs';
import advancedFormat from 'dayjs/plugin/advancedFormat.js';
import dayOfYear from 'dayjs/plugin/dayOfYear.js';
import isoWeek from 'dayjs/plugin/isoWeek.js';
import localizedFormat from 'dayjs/plugin/localizedFormat.js';
import utc from 'dayjs/plugin/utc.js';
import weekOfYear from 'dayjs/plugin/weekOfYear.js';
import weekYear from 'dayjs/plugin/weekYear.js';

dayjs.extend(utc);
dayjs.extend(advancedFormat);
dayjs.extend(weekOfYear);
dayjs.extend(weekYear);
dayjs.extend(isoWeek);
dayjs.extend(dayOfYear);
dayjs.extend(localizedFormat);

/** An instant together with the UTC offset it was written in. */
export interface ZonedInstant {
  readonly epochMs: number;
  /** East of UTC, in minutes. */
  readonly offsetMinutes: number;
}

/** Used when a Date option has no format: RFC 3339 in the input's offset, like Furiko (goment's default). */
const DEFAULT_DATE_FORMAT = 'YYYY-MM-DDTHH:mm:ssZ';

export const RFC3339_EXAMPLE = '2021-02-09T15:04:05+08:00';

// Go's time.RFC3339 layout, which Furiko parses with: upper-case T and Z, optional fraction.
const RFC3339_SHAPE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp, or says what is wrong with it. */
export function parseRfc3339(text: string): ZonedInstant | { readonly error: string } {
  const match = RFC3339_SHAPE.exec(text);
  if (!match) return { error: 'not an RFC 3339 timestamp' };
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [fraction = '', sign, offsetHour = '0', offsetMinute = '0'] = match.slice(7);
  const outOfRange = firstOutOfRange([
    [`month ${match[2]}`, month >= 1 && month <= 12],
    [`day ${match[3]} of ${match[1]}-${match[2]}`, day >= 1 && day <= daysInMonth(year, month)],
    [`hour ${match[4]}`, hour <= 23],
    [`minute ${match[5]}`, minute <= 59],
    [`second ${match[6]}`, second <= 59],
    [`offset ${sign}${offsetHour}:${offsetMinute}`, Number(offsetHour) <= 23 && Number(offsetMinute) <= 59],
  ]);
  if (outOfRange) return { error: `${outOfRange} is out of range` };

  const wallClock = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  wallClock.setUTCFullYear(year, month - 1, day);
  wallClock.setUTCHours(hour, minute, second, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(offsetHour) * 60 + Number(offsetMinute));
  return { epochMs: wallClock.getTime() - offsetMinutes * 60_000, offsetMinutes: offsetMinutes || 0 };
}

function firstOutOfRange(checks: readonly (readonly [string, boolean])[]): string | undefined {
  return checks.find(([, inRange]) => !inRange)?.[0];
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

/**
 * The year 1, 00:00 UTC: Go's zero time.Time, which Furiko renders as an empty value (`t.IsZero()`),
 * whatever offset it was written in.
 */
export const GO_ZERO_TIME_MS = -62_135_596_800_000;

// moment.js's tokenization as goment v1.4.1 (Furiko's) does it, longest token first within each
// family; anything else is literal. goment has no fractional seconds: `S`, `SS`, `SSS` stay text.
const FORMAT_TOKENS =
  /\[[^[]*]|LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l|YYYYYY|YYYYY|YYYY|YY|Y|Q|MMMM|MMM|MM|Mo|M|DDDD|DDDo|DDD|Do|DD|D|dddd|ddd|dd|do|d|E|e|wo|ww|w|Wo|WW|W|gggg|GGGG|HH|H|hh|h|kk|k|mm|m|ss|s|A|a|ZZ|Z|zz|z|X|x/g;

/**
 * Formats `instant` with a moment.js-style `format` (`DEFAULT_DATE_FORMAT` when empty), in the
 * instant's own offset, as Furiko's goment v1.4.1 does: `Z` renders a zero offset as `+00:00`, and
 * `k` is the hour plus one (goment's, not moment's, 1-24 clock).
 */
export function formatMoment(instant: ZonedInstant, format: string): string {
  const wall = dayjs.utc(instant.epochMs + instant.offsetMinutes * 60_000);
  const layout = format || DEFAULT_DATE_FORMAT;
  let out = '';
  let from = 0;
  for (const match of layout.matchAll(FORMAT_TOKENS)) {
    out += layout.slice(from, match.index) + formatToken(match[0], instant, wall);
    from = match.index + match[0].length;
  }
  return out + layout.slice(from);
}

function formatToken(token: string, instant: ZonedInstant, wall: Dayjs): string {
  switch (token) {
    case 'Z': return offset(instant.offsetMinutes, ':');
    case 'ZZ': return offset(instant.offsetMinutes, '');
    // A zero offset is Go's UTC zone. Other parsed offsets have no zone name, which goment renders
    // as "" (or a name from the webhook's local zone): taskplane writes the numeric offset instead.
    case 'z': case 'zz': return instant.offsetMinutes === 0 ? 'UTC' : offset(instant.offsetMinutes, '');
    case 'X': return String(Math.floor(instant.epochMs / 1000));
    case 'x': return String(instant.epochMs);
    // Tokens moment.js has and dayjs lacks.
    case 'Mo': return ordinal(wall.month() + 1);
    case 'DDD': return String(wall.dayOfYear());
    case 'DDDD': return String(wall.dayOfYear()).padStart(3, '0');
    case 'DDDo': return ordinal(wall.dayOfYear());
    case 'do': return ordinal(wall.day());
    case 'e': return String(wall.day());
    case 'E': return String(wall.isoWeekday());
    case 'Wo': return ordinal(wall.isoWeek());
    case 'k': return String(wall.hour() + 1);
    case 'kk': return String(wall.hour() + 1).padStart(2, '0');
    case 'Y': return wall.year() <= 9999 ? String(wall.year()).padStart(4, '0') : `+${wall.year()}`;
    case 'YYYYY': return String(wall.year()).padStart(5, '0');
    case 'YYYYYY': return `+${String(wall.year()).padStart(6, '0')}`;
    default: return token.startsWith('[') ? token.slice(1, -1) : wall.format(token);
  }
}

function offset(minutes: number, separator: string): string {
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${hh}${separator}${mm}`;
}

function ordinal(n: number): string {
  const lastTwo = n % 100;
  const suffix = lastTwo >= 11 && lastTwo <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
