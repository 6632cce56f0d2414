import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { formatMoment, parseRfc3339, type ZonedInstant } from '../../engine/options/index.js';

describe('parseRfc3339', () => {
  it.each([
    ['2021-02-09T15:04:05+08:00', Date.parse('2021-02-09T07:04:05Z'), 480],
    ['2021-02-09T15:04:05Z', Date.parse('2021-02-09T15:04:05Z'), 0],
    ['2021-02-09T15:04:05-00:00', Date.parse('2021-02-09T15:04:05Z'), 0],
    ['2021-02-09T23:30:00-08:00', Date.parse('2021-02-10T07:30:00Z'), -480],
    ['2021-02-09T15:04:05.123456789+05:45', Date.parse('2021-02-09T09:19:05.123Z'), 345],
    ['2024-02-29T00:00:00Z', Date.parse('2024-02-29T00:00:00Z'), 0],
    ['0050-01-01T00:00:00Z', Date.parse('0050-01-01T00:00:00Z'), 0],
  ])('%s', (text, epochMs, offsetMinutes) => {
    expect(parseRfc3339(text)).toEqual({ epochMs, offsetMinutes });
  });

  it.each([
    ['2021-02-09 15:04:05Z', 'not an RFC 3339 timestamp'],
    ['2021-02-09t15:04:05z', 'not an RFC 3339 timestamp'],
    ['2021-02-09T15:04:05', 'not an RFC 3339 timestamp'],
    ['2021-02-09', 'not an RFC 3339 timestamp'],
    ['2021-02-09T15:04Z', 'not an RFC 3339 timestamp'],
    ['2021-2-9T15:04:05Z', 'not an RFC 3339 timestamp'],
    ['2021-02-09T15:04:05+0800', 'not an RFC 3339 timestamp'],
    ['2021-02-09T15:04:05.Z', 'not an RFC 3339 timestamp'],
    [' 2021-02-09T15:04:05Z', 'not an RFC 3339 timestamp'],
    ['2021-13-01T00:00:00Z', 'month 13 is out of range'],
    ['2021-02-29T00:00:00Z', 'day 29 of 2021-02 is out of range'],
    ['2021-04-31T00:00:00Z', 'day 31 of 2021-04 is out of range'],
    ['2021-02-00T00:00:00Z', 'day 00 of 2021-02 is out of range'],
    ['2021-02-09T24:00:00Z', 'hour 24 is out of range'],
    ['2021-02-09T12:60:00Z', 'minute 60 is out of range'],
    ['2016-12-31T23:59:60Z', 'second 60 is out of range'],
    ['2021-02-09T12:00:00+24:00', 'offset +24:00 is out of range'],
  ])('rejects %s', (text, error) => {
    expect(parseRfc3339(text)).toEqual({ error });
  });

  it('agrees with Date.parse on the instant, for any valid timestamp', () => {
    fc.assert(
      fc.property(instant(), ({ epochMs, offsetMinutes }) => {
        const text = rfc3339(epochMs, offsetMinutes, true);
        expect(parseRfc3339(text)).toEqual({ epochMs, offsetMinutes });
        expect(Date.parse(text)).toBe(epochMs);
      }),
    );
  });
});

describe('formatMoment', () => {
  const at = (text: string) => parseRfc3339(text) as ZonedInstant;
  const tuesday = at('2021-02-09T15:04:05.123+08:00');

  it.each([
    ['', '2021-02-09T15:04:05+08:00'],
    ['D MMM YYYY', '9 Feb 2021'],
    ['D MMM YYYY HH:mm Z', '9 Feb 2021 15:04 +08:00'],
    ['YY M MM MMM MMMM Mo', '21 2 02 Feb February 2nd'],
    ['D DD Do DDD DDDD DDDo', '9 09 9th 40 040 40th'],
    ['d dd ddd dddd do e E', '2 Tu Tue Tuesday 2nd 2 2'],
    ['w ww wo W WW Wo gggg GGGG Q', '7 07 7th 6 06 6th 2021 2021 1'],
    // goment's k is the hour plus one (moment's is 1-24 with 0 as 24).
    ['H HH h hh k kk a A m mm s ss', '15 15 3 03 16 16 pm PM 4 04 5 05'],
    // goment has no fractional-second tokens: Furiko writes them as text.
    ['S SS SSS', 'S SS SSS'],
    ['Y YYYYY YYYYYY', '2021 02021 +002021'],
    ['Z ZZ z zz', '+08:00 +0800 +0800 +0800'],
    ['X x', '1612854245 1612854245123'],
    ['LT LTS L LL LLL LLLL', '3:04 PM 3:04:05 PM 02/09/2021 February 9, 2021 February 9, 2021 3:04 PM Tuesday, February 9, 2021 3:04 PM'],
    ['l ll lll llll', '2/9/2021 Feb 9, 2021 Feb 9, 2021 3:04 PM Tue, Feb 9, 2021 3:04 PM'],
    ['[Day] DDD [of] YYYY, [D] D', 'Day 40 of 2021, D 9'],
    ['DDDDD DDo', '0409 09o'],
    ['YYYY/MM/DD-ii', '2021/02/09-ii'],
  ])('format %j', (format, want) => {
    expect(formatMoment(tuesday, format)).toBe(want);
  });

  it.each([
    // goment v1.4.1 (Furiko's) writes a zero offset as +00:00, also for inputs written with Z.
    ['2021-02-09T04:06:09Z', '', '2021-02-09T04:06:09+00:00'],
    ['2021-02-09T04:06:09Z', 'Z ZZ z', '+00:00 +0000 UTC'],
    ['2021-02-09T00:30:00Z', 'k kk', '1 01'],
    ['2021-02-09T23:30:00Z', 'k kk', '24 24'],
    ['2021-02-09T04:06:09-03:30', 'Z ZZ z', '-03:30 -0330 -0330'],
    ['2021-02-09T23:30:00-08:00', 'YYYY-MM-DD', '2021-02-09'],
    ['2021-02-10T07:30:00+08:00', 'YYYY-MM-DD', '2021-02-10'],
    ['0005-03-01T00:00:00Z', 'YYYY-MM-DD', '0005-03-01'],
  ])('%s with %j', (text, format, want) => {
    expect(formatMoment(at(text), format)).toBe(want);
  });

  it('round-trips any timestamp with the default format (fraction dropped)', () => {
    fc.assert(
      fc.property(instant(), ({ epochMs, offsetMinutes }) => {
        const whole = epochMs - (((epochMs % 1000) + 1000) % 1000);
        expect(formatMoment({ epochMs, offsetMinutes }, '')).toBe(rfc3339(whole, offsetMinutes, false).replace(/Z$/, '+00:00'));
      }),
    );
  });

  describe('does not depend on the machine time zone', () => {
    const original = process.env.TZ;
    afterEach(() => {
      process.env.TZ = original;
    });

    it.each(['America/New_York', 'Pacific/Auckland', 'Asia/Kathmandu', 'Europe/London'])('%s', (zone) => {
      const format = 'YYYY-MM-DD HH:mm:ss.SSS Z X dddd DDD w W gggg LLLL';
      fc.assert(
        fc.property(fc.array(instant(), { minLength: 50, maxLength: 50 }), (instants) => {
          process.env.TZ = 'UTC';
          const inUtc = instants.map((i) => formatMoment(i, format));
          process.env.TZ = zone;
          expect(instants.map((i) => formatMoment(i, format))).toEqual(inUtc);
        }),
        { numRuns: 20 },
      );
    });
  });
});

/** Instants between years 0001 and 9998 with any whole-minute offset RFC 3339 can write. */
function instant() {
  return fc.record({
    epochMs: fc.integer({ min: Date.parse('0001-01-02T00:00:00Z'), max: Date.parse('9998-12-31T00:00:00Z') }),
    offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  });
}

/** Writes an instant as RFC 3339 in the given offset, independently of the code under test. */
function rfc3339(epochMs: number, offsetMinutes: number, withMillis: boolean): string {
  const wall = new Date(epochMs + offsetMinutes * 60_000).toISOString(); // always YYYY-MM-DDTHH:mm:ss.sssZ here
  const local = withMillis ? wall.slice(0, 23) : wall.slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${local}${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
