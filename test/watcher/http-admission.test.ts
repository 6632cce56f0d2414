/** Which HttpTasks the watcher sends: only exactly its run's recorded, rendered task. */
import { describe, expect, it } from 'vitest';
import { renderTask } from '../../engine/render.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { admitHttpTask } from '../../watcher/http-admission.js';
import type { HttpTaskObject } from '../../watcher/http-runner.js';

const run = (status: JobRunObject['status'] = {}): JobRunObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobRun',
  metadata: { name: 'ping-r1', namespace: 'shop', uid: 'run-uid' },
  spec: {
    configName: 'ping',
    substitutions: { 'option.env': 'prod' },
    template: { taskTemplate: { http: { request: { method: 'GET', url: 'http://api.shop.svc/${option.env}', headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'token', key: 'k' } } }] } } }, maxAttempts: 2 },
  },
  status,
});

const rendered = (retryIndex = 0) => {
  const { task } = renderTask(run(), { indexNumber: 0 }, retryIndex);
  return { ...task!.manifest, metadata: { ...task!.manifest.metadata, name: task!.name, uid: 'task-uid' } } as unknown as HttpTaskObject;
};
const ref = (name: string, uid?: string) => ({ name, kind: 'HttpTask', apiVersion: 'taskplane.dev/v1alpha1', parallelIndex: { indexNumber: 0 }, retryIndex: 0, ...(uid && { uid }), status: { state: 'Starting' as const } });
const recorded = (uid?: string) => run({ tasks: [ref('ping-r1-0-0', uid)] });

describe('admitHttpTask', () => {
  it('sends the task its run recorded and renders, byte for byte (a kill stamp aside)', () => {
    expect(admitHttpTask(rendered(), recorded('task-uid'), {})).toEqual({ decision: 'send' });
    const killed = rendered();
    expect(admitHttpTask({ ...killed, spec: { ...killed.spec, killTimestamp: '2026-01-01T00:00:00Z' } }, recorded(), {})).toEqual({ decision: 'send' });
  });

  it('waits while the run is not cached or has not recorded the task', () => {
    expect(admitHttpTask(rendered(), undefined, {})).toEqual({ decision: 'wait' });
    expect(admitHttpTask(rendered(), run(), {})).toEqual({ decision: 'wait' });
  });

  it.each([
    ['another URL (a forged object under a recorded name)', (t: HttpTaskObject) => ({ ...t, spec: { ...t.spec, request: { ...t.spec.request, url: 'http://evil.shop.svc/collect' } } }), /not what run ping-r1's template renders/],
    ['another Secret in a header', (t: HttpTaskObject) => ({ ...t, spec: { ...t.spec, request: { ...t.spec.request, headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'admin-token', key: 'k' } } }] } } }), /not what run/],
    ['no run label', (t: HttpTaskObject) => ({ ...t, metadata: { ...t.metadata, labels: {} } }), /belongs to no run/],
  ])('refuses %s', (_, forge, why) => {
    const verdict = admitHttpTask(forge(rendered()) as HttpTaskObject, recorded(), {});
    expect(verdict).toEqual({ decision: 'refuse', why: expect.stringMatching(why) });
  });

  it('refuses a stray (another uid than recorded) and any task of a run that was not admitted', () => {
    expect(admitHttpTask(rendered(), recorded('other-uid'), {})).toEqual({ decision: 'refuse', why: expect.stringContaining('stray') });
    expect(admitHttpTask(rendered(), run({ phase: 'AdmissionError', message: 'the template is not its JobConfig\'s' }), {})).toEqual({ decision: 'refuse', why: expect.stringContaining("not admitted: the template is not its JobConfig's") });
  });

  it('a task packed in status.liveTasks (many at once) is recorded too; an object created after its group, or a stray on record, is refused', () => {
    const packed = (extra: JobRunObject['status'] = {}) =>
      run({
        liveTasks: [{ retryIndex: 0, indexes: '0', status: { state: 'Starting' }, lastCreationTime: '2026-11-21T00:00:10Z' }],
        ...extra,
      });
    const at = (creationTimestamp: string, uid = 'task-uid') => ({ ...rendered(), metadata: { ...rendered().metadata, creationTimestamp, uid } }) as HttpTaskObject;
    expect(admitHttpTask(at('2026-11-21T00:00:10Z'), packed(), {})).toEqual({ decision: 'send' });
    expect(admitHttpTask(at('2026-11-21T00:00:11Z'), packed(), {})).toEqual({ decision: 'refuse', why: expect.stringContaining('stray') });
    const strays = [{ name: 'ping-r1-0-0', kind: 'HttpTask', uid: 'task-uid', state: 'Running' as const }];
    expect(admitHttpTask(at('2026-11-21T00:00:09Z'), packed({ strayTasks: strays }), {})).toEqual({ decision: 'refuse', why: expect.stringContaining('stray') });
    // Another attempt's group does not record this one.
    expect(admitHttpTask(at('2026-11-21T00:00:09Z'), run({ liveTasks: [{ retryIndex: 1, indexes: '0', status: { state: 'Starting' }, lastCreationTime: '2026-11-21T00:00:10Z' }] }), {})).toEqual({ decision: 'wait' });
  });
});
