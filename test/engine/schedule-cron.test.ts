/**
 * The cron parser and `nextTime` against Furiko's semantics (furiko-io/cronexpr's own test vectors
 * for `H`, reference/furiko.md §7), plus taskplane's decisions for DST and reversed ranges.
 */
import { describe, expect, it } from 'vitest';
import { parseCron, type CronParseOptions } from '../../engine/schedule/cron.js';
import { nextTime } from '../../engine/schedule/next.js';
import { hashInRange, xxHash64 } from '../../engine/schedule/xxhash64.js';
import { parseTimezone, type Zone } from '../../engine/schedule/zone.js';

function zone(name: string): Zone {
  const z = parseTimezone(name);
  if ('error' in z) throw new Error(`${name}: ${z.error}`);
  return z;
}

function next(expression: string, from: string, options: Partial<CronParseOptions> & { tz?: string } = {}): string {
  const parsed = parseCron(expression, { hashId: options.hashId ?? 'default/job', hashFields: options.hashFields ?? true });
  if ('error' in parsed) throw new Error(parsed.error);
  const t = nextTime(parsed.expression, zone(options.tz ?? 'UTC'), Date.parse(from));
  return t === undefined ? 'none' : new Date(t).toISOString().replace('.000Z', 'Z');
}

describe('xxHash64 and GetValue', () => {
  it.each([
    ['myid1', 316181436714908099n],
    ['myid2', 8964299977724969587n],
    ['myid3', 12738036773875955645n],
    ['', 0xef46db3751d8e999n],
    // 39 bytes: exercises the 32-byte stripe loop.
    ['Nobody inspects the spammish repetition', 0xfbcea83c8a378bf1n],
  ])('xxHash64(%j) = %s', (text, hash) => {
    expect(xxHash64(text)).toBe(hash);
  });

  it.each([
    [0n, 0, 9, 0], [0n, 5, 9, 5], [3n, 0, 9, 3], [15n, 0, 9, 5], [10n, 0, 9, 0], [3n, 5, 9, 8], [13n, 5, 9, 8], [10n, 5, 9, 5],
    // int64(12738036773875955645) is negative: signed modulo, then made non-negative.
    [12738036773875955645n, 0, 15, 13], [12738036773875955645n, 0, 14, 4],
  ])('GetValue(%s, %i, %i) = %i', (hash, min, max, want) => {
    expect(hashInRange(hash, min, max)).toBe(want);
  });
});

describe('H (cronexpr vectors: hash ID without field suffix unless noted)', () => {
  const cases: [string, string, string, string, string, boolean?][] = [
    ['single H in minute', '0 H * ? * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T00:59:00Z'],
    ['single H in minute', '0 H * ? * * *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-01T00:07:00Z'],
    ['single H in hour', '0 0 H ? * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T11:00:00Z'],
    ['single H in hour', '0 0 H ? * * *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-01T19:00:00Z'],
    ['H in day of month (1-28)', '0 0 0 H * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-28T00:00:00Z'],
    ['H in day of month (1-28)', '0 0 0 H * * *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-04T00:00:00Z'],
    ['H in month', '0 0 0 ? H * *', 'myid1', '2021-01-01T00:00:00Z', '2021-12-01T00:00:00Z'],
    ['H in month', '0 0 0 ? H * *', 'myid2', '2021-01-01T00:00:00Z', '2021-08-01T00:00:00Z'],
    ['H in day of week', '0 0 0 ? * H *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-04T00:00:00Z'],
    ['H in day of week', '0 0 0 ? * H *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-08T00:00:00Z'],
    ['H in year', '0 0 0 ? * * H', 'myid1', '2015-01-01T00:00:00Z', '2019-01-01T00:00:00Z'],
    ['H in year, past', '0 0 0 ? * * H', 'myid1', '2021-01-01T00:00:00Z', 'none'],
    ['H in year', '0 0 0 ? * * H', 'myid2', '2015-01-01T00:00:00Z', '2017-01-01T00:00:00Z'],
    ['H H daily', '0 H H ? * * *', 'myid1', '2021-09-01T11:59:00Z', '2021-09-02T11:59:00Z'],
    ['H H daily, 6 fields', 'H H ? * * *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-01T19:07:00Z'],
    ['H H H daily', 'H H H ? * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T11:59:59Z'],
    ['with field suffixes', 'H H ? * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T07:36:00Z', true],
    ['with field suffixes', 'H H ? * * *', 'myid2', '2021-09-01T00:00:00Z', '2021-09-01T04:43:00Z', true],
    ['jenkins example', 'H H(0-7) * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T03:59:00Z'],
    ['jenkins example', 'H H(0-7) * * *', 'myid3', '2021-09-01T00:00:00Z', '2021-09-01T05:49:00Z'],
    ['H/5', '0 H/5 * ? * * *', 'myid1', '2021-09-01T00:04:00Z', '2021-09-01T00:09:00Z'],
    ['H/5 wraps the hour', '0 H/5 * ? * * *', 'myid2', '2021-09-01T00:59:00Z', '2021-09-01T01:02:00Z'],
    ['H/7', '0 H/7 * ? * * *', 'myid2', '2021-09-01T00:52:00Z', '2021-09-01T00:59:00Z'],
    ['H/5 with H seconds', 'H H/5 * ? * * *', 'myid1', '2021-09-01T00:59:59Z', '2021-09-01T01:04:59Z'],
    ['H/5 with field suffixes (seconds 0)', 'H/5 * ? * * *', 'myid1', '2021-09-01T00:00:00Z', '2021-09-01T00:01:00Z', true],
    ['H(5-20)', '0 H(5-20) * ? * * *', 'myid1', '2021-09-01T00:08:00Z', '2021-09-01T01:08:00Z'],
    ['H(5-20), negative int64', '0 H(5-20) * ? * * *', 'myid3', '2021-09-01T00:00:00Z', '2021-09-01T00:18:00Z'],
    ['H(5-20)/5', '0 H(5-20)/5 * ? * * *', 'myid1', '2021-09-01T00:19:00Z', '2021-09-01T01:09:00Z'],
    ['H(5-20)/5', '0 H(5-20)/5 * ? * * *', 'myid2', '2021-09-01T00:12:00Z', '2021-09-01T00:17:00Z'],
    ['lower-case h', 'h h(0-7) * * *', 'myid3', '2021-09-01T00:00:00Z', '2021-09-01T05:49:00Z'],
  ];
  it.each(cases)('%s: %s (%s) after %s is %s', (_name, expression, hashId, from, want, hashFields = false) => {
    expect(next(expression, from, { hashId, hashFields })).toBe(want);
  });

  it('records what each H token expanded to, per field, with the namespace/name:field ID', () => {
    const parsed = parseCron('H H(0-7) * * *', { hashId: 'batch/database-backup' });
    if ('error' in parsed) throw new Error(parsed.error);
    const minute = hashInRange(xxHash64('batch/database-backup:minute'), 0, 59);
    const hour = hashInRange(xxHash64('batch/database-backup:hour'), 0, 7);
    expect(parsed.expression.hashed).toEqual([
      { field: 'minute', token: 'H', values: [minute] },
      { field: 'hour', token: 'H(0-7)', values: [hour] },
    ]);
    expect(parsed.expression.minutes).toEqual([minute]);
  });
});

describe('syntax', () => {
  it.each([
    ['5 fields', '30 2 * * *', '2026-11-29T03:00:00Z', '2026-11-30T02:30:00Z'],
    ['6th field is the year', '30 2 * * * 2027', '2026-11-29T03:00:00Z', '2027-01-01T02:30:00Z'],
    ['7 fields: seconds first', '15 30 2 * * * *', '2026-11-29T03:00:00Z', '2026-11-30T02:30:15Z'],
    ['fields past the 7th are ignored', '15 30 2 * * * * junk', '2026-11-29T03:00:00Z', '2026-11-30T02:30:15Z'],
    ['lists and ranges', '0 8-10,17 * * *', '2026-11-29T10:30:00Z', '2026-11-29T17:00:00Z'],
    ['*/n', '*/20 * * * *', '2026-11-29T10:41:00Z', '2026-11-29T11:00:00Z'],
    ['/n', '/20 * * * *', '2026-11-29T10:21:00Z', '2026-11-29T10:40:00Z'],
    ['a/n runs a to the max', '50/3 * * * *', '2026-11-29T10:54:00Z', '2026-11-29T10:56:00Z'],
    ['a-b/n', '10-30/10 * * * *', '2026-11-29T10:21:00Z', '2026-11-29T10:30:00Z'],
    ['? is *', '0 0 ? * mon', '2026-11-29T00:00:00Z', '2026-11-30T00:00:00Z'],
    ['month names', '0 0 1 jan,July *', '2026-11-29T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['weekday names', '0 9 * * MON-FRI', '2026-11-28T00:00:00Z', '2026-11-30T09:00:00Z'],
    ['7 is Sunday', '0 9 * * 7', '2026-11-27T00:00:00Z', '2026-11-29T09:00:00Z'],
    ['5-7 is Friday to Sunday', '0 9 * * 5-7', '2026-11-28T10:00:00Z', '2026-11-29T09:00:00Z'],
    ['day of month and weekday both restricted: either', '0 9 1 * mon', '2026-11-28T10:00:00Z', '2026-11-30T09:00:00Z'],
    ['*/n in day of month restricts it', '0 0 */10 * mon', '2026-11-28T00:00:00Z', '2026-11-30T00:00:00Z'],
    ['L: last day of month', '0 0 L * *', '2026-02-03T00:00:00Z', '2026-02-28T00:00:00Z'],
    ['L in a leap year', '0 0 L 2 *', '2027-03-01T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['LW: last weekday (May 31 2026 is a Sunday)', '0 0 LW * *', '2026-05-03T00:00:00Z', '2026-05-29T00:00:00Z'],
    ['15W: Sunday the 15th moves to Monday', '0 0 15W * *', '2026-11-01T00:00:00Z', '2026-11-16T00:00:00Z'],
    ['1W: Saturday the 1st moves to Monday the 3rd', '0 0 1W 8 *', '2026-07-01T00:00:00Z', '2026-08-03T00:00:00Z'],
    ['31W: Sunday the 31st moves to Friday', '0 0 31W 5 *', '2026-05-01T00:00:00Z', '2026-05-29T00:00:00Z'],
    ['5#3: third Friday', '0 0 * * 5#3', '2026-11-01T00:00:00Z', '2026-11-20T00:00:00Z'],
    ['fri#5 skips months without one', '0 0 * * fri#5', '2026-11-01T00:00:00Z', '2027-01-29T00:00:00Z'],
    ['5L: last Friday', '0 0 * * 5L', '2026-11-01T00:00:00Z', '2026-11-27T00:00:00Z'],
    ['Feb 29 only in leap years', '0 12 29 2 *', '2026-11-01T00:00:00Z', '2028-02-29T12:00:00Z'],
    ['day 31 skips short months', '0 0 31 * *', '2026-11-01T00:00:00Z', '2026-12-31T00:00:00Z'],
    ['@yearly', '@yearly', '2026-11-29T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['@annually', '@annually', '2026-11-29T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['@monthly', '@monthly', '2026-11-29T00:00:00Z', '2026-12-01T00:00:00Z'],
    ['@weekly (Sunday)', '@weekly', '2026-11-29T00:00:00Z', '2026-12-06T00:00:00Z'],
    ['@daily', '@daily', '2026-11-29T00:00:00Z', '2026-11-30T00:00:00Z'],
    ['@hourly', '@hourly', '2026-11-29T00:00:00Z', '2026-11-29T01:00:00Z'],
    ['strictly after, second granularity', '* * * * * * *', '2026-11-29T00:00:00.500Z', '2026-11-29T00:00:01Z'],
    ['no time after 2099', '0 0 1 1 * 2099', '2099-06-01T00:00:00Z', 'none'],
    ['last year', '0 0 1 1 * 2099', '2098-06-01T00:00:00Z', '2099-01-01T00:00:00Z'],
  ])('%s: %s after %s is %s', (_name, expression, from, want) => {
    expect(next(expression, from)).toBe(want);
  });

  it.each([
    ['', 'missing field(s)'],
    ['* * * *', 'missing field(s)'],
    ['60 * * * *', "value out of range 0-59 in minute field: '60'"],
    ['* 24 * * *', "value out of range 0-23 in hour field: '24'"],
    ['* * 0 * *', "value out of range 1-31 in day-of-month field: '0'"],
    ['* * * 13 *', "value out of range 1-12 in month field: '13'"],
    ['* * * * 8', "value out of range 0-7 in day-of-week field: '8'"],
    ['* * * * * 1969', "value out of range 1970-2099 in year field: '1969'"],
    ['*/0 * * * *', "invalid interval in minute field: '*/0'"],
    ['*/60 * * * *', "invalid interval in minute field: '*/60'"],
    ['30-10 * * * *', "range start is after its end in minute field: '30-10'"],
    ['H(20-5) * * * *', "range start is after its end in minute field: 'H(20-5)'"],
    ['* * * foo *', "syntax error in month field: 'foo'"],
    ['* * * * mon#6', "syntax error in day-of-week field: 'mon#6'"],
    ['@reboot', 'missing field(s)'],
    ['* * 32W * *', "value out of range 1-31 in day-of-month field: '32W'"],
  ])('%j is an error: %s', (expression, message) => {
    const parsed = parseCron(expression, { hashId: 'default/job' });
    expect('error' in parsed && parsed.error).toContain(message);
  });
});

describe('time zones and DST', () => {
  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['', 'UTC'], ['Local', 'UTC'], ['GMT', 'UTC'],
    ['UTC+8', 'UTC+08:00'], ['UTC-08', 'UTC-08:00'], ['UTC+5:30', 'UTC+05:30'], ['GMT+05:45', 'UTC+05:45'], ['UTC-0930', 'UTC-09:30'],
  ])('%j is %s', (text, name) => {
    expect(zone(text).name).toBe(name);
  });

  it.each([
    ['Europe/Berln', 'did you mean "Europe/Berlin"'],
    ['europe/berlin', 'did you mean "Europe/Berlin"?'],
    ['UTC+15', 'UTC-14:00 to UTC+14:00'],
    ['+01:00', 'an IANA name'],
  ])('%j is rejected (%s)', (text, valid) => {
    const parsed = parseTimezone(text);
    expect('error' in parsed && parsed.valid).toContain(valid);
  });

  it.each([
    ['a fixed offset', '0 9 * * *', 'UTC+05:30', '2026-11-29T00:00:00Z', '2026-11-29T03:30:00Z'],
    ['winter in Berlin (CET)', '37 2 * * *', 'Europe/Berlin', '2026-11-29T12:00:00Z', '2026-11-30T01:37:00Z'],
    ['summer in Berlin (CEST)', '37 2 * * *', 'Europe/Berlin', '2026-07-01T12:00:00Z', '2026-07-02T00:37:00Z'],
    // Spring forward, 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z): 02:30 does not exist and runs at the jump.
    ['spring forward: a time in the gap runs at the jump', '30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T01:00:00Z'],
    ['spring forward: the next day is normal again', '30 2 * * *', 'Europe/Berlin', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'],
    ['spring forward: times before the gap', '30 1 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T00:30:00Z'],
    ['spring forward: times after the gap', '30 3 * * *', 'Europe/Berlin', '2026-03-29T00:59:00Z', '2026-03-29T01:30:00Z'],
    ['spring forward: several gap times are one run', '*/15 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T01:00:00Z'],
    ['spring forward: every minute jumps the gap', '* * * * *', 'Europe/Berlin', '2026-03-29T00:59:00Z', '2026-03-29T01:00:00Z'],
    ['spring forward in New York (02:00 EST -> 03:00 EDT)', '30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-08T07:00:00Z'],
    // Fall back, 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z): 02:xx happens twice.
    ['fall back: a fixed time runs at its first occurrence', '30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-25T00:30:00Z'],
    ['fall back: ...and not again at the second', '30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'],
    ['fall back: an hourly schedule runs in both', '30 * * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z'],
    ['fall back: ...then goes on by real time', '30 * * * *', 'Europe/Berlin', '2026-10-25T01:30:00Z', '2026-10-25T02:30:00Z'],
    ['fall back: from inside the second occurrence', '45 2 * * *', 'Europe/Berlin', '2026-10-25T01:10:00Z', '2026-10-26T01:45:00Z'],
    ['Lord Howe: 30-minute DST gap', '15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', '2026-10-03T15:30:00Z'],
    // Santiago's clocks go 24:00 -> 01:00 on 2026-09-06: midnight does not exist.
    ['Santiago: midnight in the gap', '0 0 * * *', 'America/Santiago', '2026-09-05T12:00:00Z', '2026-09-06T04:00:00Z'],
  ])('%s: %s in %s after %s is %s', (_name, expression, tz, from, want) => {
    expect(next(expression, from, { tz })).toBe(want);
  });
});
