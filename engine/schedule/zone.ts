/**
 * Time zones for schedules, as Furiko's `tzutils.ParseTimezone` accepts them: an IANA name, `""`,
 * `Local` or `GMT` (UTC), or a fixed offset `UTC±H`, `UTC±HH`, `UTC±H:MM`, `UTC±HH:MM`, `UTC±HHMM`
 * (also with `GMT`), normalised to `UTC±HH:MM`. IANA rules come from Node's ICU (`Intl`), so the
 * result never depends on the machine's TZ setting.
 */
import { didYouMean, suggest } from '../suggest.js';

export interface Zone {
  /** The normalised name: an IANA name or `UTC±HH:MM`. */
  readonly name: string;
  /** Minutes east of UTC at an instant. */
  offsetMinutes(epochMs: number): number;
}

const FIXED_OFFSET = /^(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?$/;
const MAX_OFFSET_HOURS = 14;

export function fixedZone(offsetMinutes: number): Zone {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const name = `UTC${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  return { name, offsetMinutes: () => offsetMinutes };
}

export const UTC: Zone = { name: 'UTC', offsetMinutes: () => 0 };

const ianaZones = new Map<string, Zone>();

/** The zone, or what is wrong with the name and what would be valid. */
export function parseTimezone(text: string): Zone | { readonly error: string; readonly valid: string } {
  if (text === '' || text === 'Local' || text === 'GMT' || text === 'UTC') return UTC;
  const fixed = FIXED_OFFSET.exec(text);
  if (fixed) {
    const [, sign, hours, minutes = '0'] = fixed;
    const h = Number(hours);
    const m = Number(minutes);
    if (h > MAX_OFFSET_HOURS || m > 59) return { error: 'offset out of range', valid: `UTC-${MAX_OFFSET_HOURS}:00 to UTC+${MAX_OFFSET_HOURS}:00` };
    return fixedZone((sign === '-' ? -1 : 1) * (h * 60 + m));
  }
  const cached = ianaZones.get(text);
  if (cached) return cached;
  const zone = ianaZone(text);
  if (!zone) {
    const names = Intl.supportedValuesOf('timeZone');
    const sameLetters = names.find((n) => n.toLowerCase() === text.toLowerCase());
    const hint = didYouMean(sameLetters ? [sameLetters] : suggest(text, names));
    return { error: 'unknown time zone', valid: `an IANA name such as Europe/Berlin, or UTC±HH:MM${hint ? `; ${hint}` : ''}` };
  }
  ianaZones.set(text, zone);
  return zone;
}

function ianaZone(name: string): Zone | undefined {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch {
    return undefined;
  }
  // Go's LoadLocation is case-sensitive; ICU is not. Only the exact spelling is a name.
  const resolved = format.resolvedOptions().timeZone;
  if (resolved.toLowerCase() === name.toLowerCase() && resolved !== name) return undefined;
  if (/^[+-]/.test(name)) return undefined;
  return {
    name,
    offsetMinutes(epochMs) {
      const at = Math.floor(epochMs / 1000) * 1000;
      const parts: Record<string, number> = {};
      for (const part of format.formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
      const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
      return Math.round((wall - at) / 60_000);
    },
  };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
