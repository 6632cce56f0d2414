/**
 * Admission (engine/run/admission.ts): a run gets no more than its JobConfig grants. Runs are built
 * the way `config.run(...)` and `taskplane run` build them (buildRun), then tampered with the way a
 * JobRun author with `create jobruns` could.
 */
import { describe, expect, it } from 'vitest';
import { buildRun } from '../../engine/run-object.js';
import { admitRun, CONFIG_GRACE_SECONDS } from '../../engine/run/admission.js';
import { planRun } from '../../engine/run/index.js';
import { templateHash } from '../../engine/run/template-hash.js';
import { GROUP_VERSION, type JobConfigObject, type JobConfigSpec, type JobRunObject } from '../../engine/schema/resources.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const SPEC: JobConfigSpec = {
  template: {
    taskTemplate: { pod: { metadata: { labels: { team: 'data' } }, spec: { containers: [{ name: 'c', image: 'registry.example.com/backup:1', args: ['--db=${option.db}'] }] } } },
    maxAttempts: 2,
  },
  concurrency: { policy: 'Allow' },
  options: [{ name: 'db', type: 'Select', select: { values: ['orders', 'billing'], default: 'orders' } }],
};

function config(spec: JobConfigSpec = SPEC): JobConfigObject {
  return { apiVersion: GROUP_VERSION, kind: 'JobConfig', metadata: { name: 'backup', namespace: 'batch', uid: 'c-1' }, spec };
}

function run(optionValues: Record<string, unknown> = { db: 'billing' }, edit: (r: any) => void = () => {}): JobRunObject {
  const { run: built, errors } = buildRun({ name: 'backup', namespace: 'batch', spec: SPEC }, { name: 'backup-r1', optionValues, materialization: 'Deferred' });
  expect(errors).toEqual([]);
  const copy = structuredClone({ ...built, metadata: { ...built.metadata, uid: 'r-1', creationTimestamp: T0.toISOString() } }) as any;
  edit(copy);
  return copy;
}

const privileged = (r: any) => {
  r.spec.template.taskTemplate.pod.spec = {
    hostNetwork: true,
    hostPID: true,
    serviceAccountName: 'cluster-admin-sa',
    containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true }, volumeMounts: [{ name: 'root', mountPath: '/host' }] }],
    volumes: [{ name: 'root', hostPath: { path: '/' } }],
  };
};

describe('admitRun', () => {
  it('admits a run built from its config, with valid options', () => {
    expect(admitRun({ run: run(), config: config(), now: T0 })).toEqual({ kind: 'admitted' });
  });

  it('refuses a run whose template is not its config\'s (the privileged Pod of issue 9), naming both hashes', () => {
    const admission = admitRun({ run: run({}, privileged), config: config(), now: T0 });
    expect(admission).toMatchObject({ kind: 'refused', reason: 'TemplateNotAllowed' });
    expect((admission as { message: string }).message).toContain(`is not the template of JobConfig backup (hash ${templateHash(SPEC.template)})`);
    expect((admission as { message: string }).message).toContain('does not allow custom templates (spec.allowCustomTemplates)');
  });

  it('refuses every kind of template edit: a label, maxAttempts, parallelism', () => {
    const edits: ((r: any) => void)[] = [
      (r) => (r.spec.template.taskTemplate.pod.metadata.labels.app = 'payments-frontend'), // a label a Service selects on
      (r) => (r.spec.template.maxAttempts = 50),
      (r) => (r.spec.template.parallelism = { withCount: 500 }),
    ];
    for (const edit of edits) expect(admitRun({ run: run({}, edit), config: config(), now: T0 }).kind).toBe('refused');
  });

  it('allowCustomTemplates admits another template of the same executor only', () => {
    const open = config({ ...SPEC, allowCustomTemplates: true });
    expect(admitRun({ run: run({}, privileged), config: open, now: T0 })).toEqual({ kind: 'admitted' });
    const asSecret = (r: any) => {
      r.spec.template.taskTemplate = {
        customResource: { manifest: { apiVersion: 'v1', kind: 'Secret', stringData: { a: 'b' } }, successCondition: 'true', failureCondition: 'false' },
      };
    };
    expect(admitRun({ run: run({}, asSecret), config: open, now: T0 })).toMatchObject({
      kind: 'refused',
      reason: 'ExecutorNotAllowed',
      message: 'spec.template runs customResource v1 Secret, but JobConfig backup allows custom templates of its own executor only (pod)',
    });
  });

  it('after start, the template admitted then stays admitted when the config changes (the snapshot is the record)...', () => {
    const started = run({}, (r) => (r.status = { phase: 'Running', startTime: T0.toISOString(), templateHash: templateHash(r.spec.template) }));
    const edited = config({ ...SPEC, template: { ...SPEC.template, maxAttempts: 5 } });
    expect(admitRun({ run: started, config: edited, now: at(60) })).toEqual({ kind: 'admitted' });
  });

  it('...but an edit of the started run\'s template to something the config never defined is refused', () => {
    const started = run({}, (r) => {
      r.status = { phase: 'Running', startTime: T0.toISOString(), templateHash: templateHash(r.spec.template) };
      privileged(r);
    });
    expect(admitRun({ run: started, config: config(), now: at(60) })).toMatchObject({ kind: 'refused', reason: 'TemplateNotAllowed' });
  });

  it('refuses option values outside their types, and forged option substitutions, without echoing values', () => {
    const bad = admitRun({ run: run({}, (r) => (r.spec.optionValues = { db: 'kube-system-secrets' })), config: config(), now: T0 });
    expect(bad).toMatchObject({ kind: 'refused', reason: 'OptionsNotAllowed' });
    expect((bad as { message: string }).message).toContain('spec.optionValues.db');
    expect((bad as { message: string }).message).not.toContain('kube-system-secrets');

    const forged = admitRun({ run: run({ db: 'billing' }, (r) => (r.spec.substitutions['option.db'] = 'orders --drop-all')), config: config(), now: T0 });
    expect(forged).toMatchObject({ kind: 'refused', reason: 'OptionsNotAllowed' });
    expect((forged as { message: string }).message).toContain('spec.substitutions "option.db" differ from what JobConfig backup gives');
    expect((forged as { message: string }).message).not.toContain('--drop-all');

    const renamed = admitRun({ run: run({}, (r) => (r.spec.substitutions['jobconfig.name'] = 'payroll')), config: config(), now: T0 });
    expect(renamed).toMatchObject({ kind: 'refused', reason: 'OptionsNotAllowed' });
    // User variables are the run's own: they only fill ${...} the config's author wrote.
    expect(admitRun({ run: run({}, (r) => (r.spec.substitutions.region = 'eu-west-1')), config: config(), now: T0 }).kind).toBe('admitted');
  });

  it('a run may choose Forbid or Enqueue for itself, but not Allow on a config that limits its runs', () => {
    const limited = config({ ...SPEC, concurrency: { policy: 'Forbid', maxConcurrency: 1 } });
    const withPolicy = (policy: string) => run(undefined, (r) => (r.spec.concurrencyPolicy = policy));
    expect(admitRun({ run: withPolicy('Enqueue'), config: limited, now: T0 }).kind).toBe('admitted');
    expect(admitRun({ run: withPolicy('Forbid'), config: limited, now: T0 }).kind).toBe('admitted');
    expect(admitRun({ run: withPolicy('Allow'), config: limited, now: T0 })).toMatchObject({ kind: 'refused', reason: 'ConcurrencyNotAllowed' });
    expect(admitRun({ run: withPolicy('Allow'), config: config(), now: T0 }).kind).toBe('admitted');
  });

  it('reads option strings stored only as their substitution (synth stores a value once) as given, and nothing else', () => {
    // buildRun keeps `billing` only as substitutions["option.db"]: admitted as the value given.
    const stored = run({ db: 'billing' });
    expect(stored.spec.optionValues?.db).toBeUndefined();
    expect(admitRun({ run: stored, config: config(), now: T0 }).kind).toBe('admitted');
    // The default's text is not a given value, and a value the option refuses is not either.
    expect(admitRun({ run: run({}), config: config(), now: T0 }).kind).toBe('admitted');
    expect(admitRun({ run: run({}, (r) => (r.spec.substitutions['option.db'] = 'payroll')), config: config(), now: T0 })).toMatchObject({ kind: 'refused', reason: 'OptionsNotAllowed' });
  });

  it(`holds a run whose config is missing for ${CONFIG_GRACE_SECONDS} s after its creation, then refuses it`, () => {
    expect(admitRun({ run: run(), config: undefined, now: at(1) })).toEqual({
      kind: 'held',
      reason: 'WaitingForConfig',
      message: 'Waiting for JobConfig backup to exist in namespace batch',
      until: at(CONFIG_GRACE_SECONDS),
    });
    expect(admitRun({ run: run(), config: undefined, now: at(CONFIG_GRACE_SECONDS) })).toEqual({
      kind: 'refused',
      reason: 'ConfigNotFound',
      message: 'JobConfig backup does not exist in namespace batch; a run must reference a JobConfig of its own namespace',
    });
  });
});

describe('planRun with an admission verdict', () => {
  it('a refusal ends the run in AdmissionError with the message in status and a Warning event; nothing is created', () => {
    const message = 'spec.template is not the template of JobConfig backup';
    const plan = planRun({ run: run(), tasks: [], now: T0, rejection: { reason: 'TemplateNotAllowed', message } });
    expect(plan.status).toMatchObject({ phase: 'AdmissionError', result: 'AdmissionError', reason: 'TemplateNotAllowed', message });
    expect(plan.events).toEqual([{ type: 'Warning', reason: 'TemplateNotAllowed', message }]);
    expect(plan.create).toEqual([]);
    // Final: planning again on the written status changes nothing and emits nothing.
    const again = planRun({ run: { ...run(), status: plan.status }, tasks: [], now: at(5), rejection: { reason: 'TemplateNotAllowed', message } });
    expect(again.status).toEqual(plan.status);
    expect(again.events).toEqual([]);
  });

  it('an unreadable spec is reported as InvalidSpec, not as a refusal (which would only say it differs from its config)', () => {
    const broken = run({}, (r) => (r.spec.template.taskTemplate.pod.spec.restartPolicy = 'Always'));
    const plan = planRun({ run: broken, tasks: [], now: T0, rejection: { reason: 'TemplateNotAllowed', message: 'differs' } });
    expect(plan.status).toMatchObject({ phase: 'AdmissionError', reason: 'InvalidSpec' });
  });

  it('a hold queues the run with the reason and looks again when the grace ends; a finished run stays as it was', () => {
    const plan = planRun({ run: run(), tasks: [], now: at(1), hold: { reason: 'WaitingForConfig', message: 'Waiting for JobConfig backup', until: at(30) } });
    expect(plan.status).toMatchObject({ phase: 'Queued', reason: 'WaitingForConfig', message: 'Waiting for JobConfig backup' });
    expect(plan.create).toEqual([]);
    expect(plan.requeueAt).toEqual(at(30));
    const finished = { ...run(), status: { phase: 'Succeeded' as const, startTime: T0.toISOString(), finishTime: at(9).toISOString() } };
    expect(planRun({ run: finished, tasks: [], now: at(20), rejection: { reason: 'TaskKindNotAllowed', message: 'no' } }).status.phase).toBe('Succeeded');
  });
});
