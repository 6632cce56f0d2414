/**
 * Schedule.cron on a JobConfig: what synth writes (spec.schedule and the review annotation), the
 * errors it stops with (construct path, field, value, fix; all at once; nothing written), and output
 * bytes that do not depend on the day synth runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { JobConfig, Option, Schedule, TaskplaneApp, TaskTemplate, type JobConfigProps } from '../../constructs/index.js';
import { hashInRange, xxHash64 } from '../../engine/schedule/xxhash64.js';
import { parseDocuments, readTree, synthToTree, tempOutdir } from '../_synth.js';

const task = TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } });

function synthJobConfig(props: Partial<JobConfigProps<any>>, namespace: string | null = 'batch', id = 'nightly') {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  new JobConfig(new Chart(app, 'jobs', namespace ? { namespace } : {}), id, { task, ...props });
  const tree = synthToTree(app);
  return parseDocuments(tree.get(`jobs/${id}/jobconfig.k8s.yaml`)!)[0];
}

function synthErrors(build: (chart: Chart) => void): string {
  const outdir = tempOutdir();
  mkdirSync(join(outdir, 'jobs'), { recursive: true });
  writeFileSync(join(outdir, 'jobs', 'previous.k8s.yaml'), 'kind: Previous\n');
  const app = new TaskplaneApp({ outdir });
  build(new Chart(app, 'jobs', { namespace: 'batch' }));
  let message = '';
  try {
    app.synth();
  } catch (error) {
    message = (error as Error).message;
  }
  expect([...readTree(outdir).keys()]).toEqual(['jobs/previous.k8s.yaml']);
  return message;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Schedule.cron', () => {
  it('renders spec.schedule with the zone, the window and disabled', () => {
    const config = synthJobConfig({
      schedule: Schedule.cron(['0 2 * * mon-fri', '0 6 * * sat,sun'], {
        timezone: 'Europe/Berlin',
        disabled: true,
        notBefore: new Date('2026-12-01T00:00:00Z'),
        notAfter: new Date('2027-12-01T00:00:00Z'),
        keepSucceeded: 5,
        keepFailed: 0,
      }),
    });
    expect(config.spec.schedule).toEqual({
      cron: { expressions: ['0 2 * * mon-fri', '0 6 * * sat,sun'], timezone: 'Europe/Berlin' },
      disabled: true,
      constraints: { notBefore: '2026-12-01T00:00:00Z', notAfter: '2027-12-01T00:00:00Z' },
      history: { succeeded: 5, failed: 0 },
    });
  });

  it('annotates the JobConfig with the schedule in words, H expanded from <namespace>/<name>', () => {
    const config = synthJobConfig({ schedule: Schedule.cron('H H(1-4) * * *', { timezone: 'UTC+05:30' }) });
    const minute = hashInRange(xxHash64('batch/nightly:minute'), 0, 59);
    const hour = hashInRange(xxHash64('batch/nightly:hour'), 1, 4);
    const clock = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
    expect(config.metadata.annotations).toEqual({ 'taskplane.dev/schedule': `${minute} ${hour} * * * (H H(1-4) * * *): at ${clock} every day; UTC+05:30` });
  });

  it('lists first run times only after an explicit previewFrom', () => {
    const config = synthJobConfig({ schedule: Schedule.cron('0 2 * * *', { timezone: 'America/New_York', previewFrom: new Date('2026-03-07T00:00:00Z') }) });
    expect(config.metadata.annotations['taskplane.dev/schedule']).toBe(
      '0 2 * * *: at 02:00 every day; America/New_York; first runs after 2026-03-07T00:00:00Z: 2026-03-07T02:00:00-05:00, 2026-03-08T03:00:00-04:00, 2026-03-09T02:00:00-04:00',
    );
  });

  it('says H cannot be expanded when the namespace is not known at synth', () => {
    const config = synthJobConfig({ schedule: Schedule.cron('H 2 * * *') }, null);
    expect(config.metadata.annotations['taskplane.dev/schedule']).toBe(
      "H 2 * * *; UTC; H is hashed from <namespace>/nightly: set the JobConfig's or the chart's namespace to see its times",
    );
  });

  it('leaves JobConfigs without a schedule as they were (no annotation, no spec.schedule)', () => {
    const config = synthJobConfig({});
    expect(config.metadata.annotations).toBeUndefined();
    expect(config.spec.schedule).toBeUndefined();
  });

  it('writes the same bytes whatever the date synth runs on', () => {
    const synthAt = (iso: string) => {
      vi.useFakeTimers({ now: new Date(iso), toFake: ['Date'] });
      const tree = synthToTree(buildApp({ outdir: tempOutdir() }));
      vi.useRealTimers();
      return tree;
    };
    const a = synthAt('2026-01-15T10:00:00Z');
    const b = synthAt('2031-07-04T23:59:59Z');
    expect(a.get('jobs/database-backup/jobconfig.k8s.yaml')).toContain('taskplane.dev/schedule');
    expect([...b.entries()]).toEqual([...a.entries()]);
  });
});

describe('bad schedules stop synth, every problem at once, nothing written', () => {
  it('bad expression, unknown zone, notAfter before notBefore, required option without default', () => {
    const message = synthErrors((chart) => {
      new JobConfig(chart, 'nightly', {
        task,
        options: { ticket: Option.string({ required: true }), env: Option.string({ default: 'dev' }) },
        schedule: Schedule.cron(['0 2 * * *', '0 25 * * *'], {
          timezone: 'Europe/Berln',
          notBefore: new Date('2026-12-01T00:00:00Z'),
          notAfter: new Date('2026-11-01T00:00:00Z'),
        }),
      });
      new JobConfig(chart, 'weekly', { task, schedule: Schedule.cron('0 2 * * 8') });
    });
    const lines = message.split('\n').slice(1).map((l) => l.trim());
    expect(lines).toEqual([
      `[jobs/nightly] spec.schedule.cron.expressions[1]: cannot parse cron schedule: value out of range 0-23 in hour field: '25' (got "0 25 * * *"); valid: ${lines[0]!.split('valid: ')[1]}`,
      expect.stringMatching(/^\[jobs\/nightly\] spec\.schedule\.cron\.timezone: cannot parse timezone: unknown time zone \(got "Europe\/Berln"\); valid: .*did you mean "Europe\/Berlin"/),
      '[jobs/nightly] spec.schedule.constraints.notAfter: is before notBefore, so the schedule would never run (got "2026-11-01T00:00:00Z"); valid: a time at or after 2026-12-01T00:00:00Z',
      '[jobs/nightly] spec.options[0]: option "ticket" is required and has no default, but scheduled runs have no option values (got "ticket"); valid: give it a default, or make it optional',
      expect.stringMatching(/^\[jobs\/weekly\] spec\.schedule\.cron\.expression: cannot parse cron schedule: value out of range 0-7 in day-of-week field: '8' \(got "0 2 \* \* 8"\)/),
    ]);
    expect(lines[0]).toContain('valid: 5 fields');
  });

  it('a scheduled JobConfig name must leave room for -<unixSeconds>', () => {
    const message = synthErrors((chart) => new JobConfig(chart, 'a-very-long-job-config-name-for-nightly', { task, schedule: Schedule.cron('@daily') }));
    expect(message).toContain('[jobs/a-very-long-job-config-name-for-nightly] metadata.name: is too long for a schedule');
    expect(message).toContain('valid: at most 35 characters');
  });

  it('an invalid Date is reported, not thrown', () => {
    const message = synthErrors((chart) => new JobConfig(chart, 'nightly', { task, schedule: Schedule.cron('@daily', { notBefore: new Date('nope') }) }));
    expect(message).toContain('[jobs/nightly] spec.schedule.constraints.notBefore');
    expect(message).toContain('"Invalid Date"');
  });
});
