/** The http executor's pure halves: render (structure-safe URL), observe, kill, and judging a response. */
import { describe, expect, it } from 'vitest';
import { httpExecutor } from '../../engine/executors/http.js';
import { judgeResponse, storedResult } from '../../engine/executors/http-response.js';
import { renderTask, validateRun } from '../../engine/render.js';
import { MAX_HTTP_RESULT_BYTES, type HttpTaskStatus } from '../../engine/schema/http.js';
import type { JobRunObject, TaskTemplate } from '../../engine/schema/index.js';
import { deepFreeze } from './helpers.js';

const T = 'spec.template.taskTemplate.http';

function makeRun(http: NonNullable<TaskTemplate['http']>, substitutions: Record<string, string> = {}): JobRunObject {
  return deepFreeze({
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobRun',
    metadata: { name: 'warm-1', namespace: 'shop' },
    spec: { configName: 'warm', substitutions, template: { taskTemplate: { http }, parallelism: { withKeys: ['eu', 'us'] } } },
  });
}

const renderUrl = (url: string, value: string) => renderTask(makeRun({ request: { method: 'GET', url } }, { 'option.v': value }), { indexKey: 'eu' }, 0);

describe('render', () => {
  it('renders one HttpTask per index: the template as spec, taskplane metadata, every string substituted', () => {
    const run = makeRun(
      {
        metadata: { labels: { team: 'shop' } },
        request: { method: 'POST', url: 'http://cache.shop.svc/warm/${task.index_key}?env=${option.env}', headers: [{ name: 'X-Run', value: '${job.name}' }, { name: 'Authorization', valueFrom: { secretKeyRef: { name: 'cache-token', key: 'token' } } }], postData: { mimeType: 'application/json', text: '{"region":"${task.index_key}"}' } },
        response: { successCondition: 'status == 200 && body.warmed > 0', result: 'body.warmed' },
        timeoutSeconds: 60,
      },
      { 'option.env': 'prod' },
    );
    expect(validateRun(run)).toEqual([]);
    const { task, errors } = renderTask(run, { indexKey: 'eu' }, 1);
    expect(errors).toEqual([]);
    expect(task!.manifest).toMatchObject({
      apiVersion: 'taskplane.dev/v1alpha1',
      kind: 'HttpTask',
      metadata: { name: 'warm-1-eu-1', namespace: 'shop', labels: { team: 'shop', 'taskplane.dev/run': 'warm-1', 'taskplane.dev/retry-index': '1' } },
      spec: {
        request: {
          method: 'POST',
          url: 'http://cache.shop.svc/warm/eu?env=prod',
          headers: [{ name: 'X-Run', value: 'warm-1' }, { name: 'Authorization', valueFrom: { secretKeyRef: { name: 'cache-token', key: 'token' } } }],
          postData: { mimeType: 'application/json', text: '{"region":"eu"}' },
        },
        timeoutSeconds: 60,
      },
    });
    // The Secret is only referenced: no value can be in the rendered object.
    expect(JSON.stringify(task!.manifest)).not.toContain('metadata":{"team');
  });

  it.each([
    ['a path segment: "/" and "?" are encoded, no segment or query is added', 'http://a.svc/files/${option.v}/meta', 'x/../../admin?y=1#f', 'http://a.svc/files/x%2F..%2F..%2Fadmin%3Fy%3D1%23f/meta'],
    ['a query value: "&" and "=" are encoded, no parameter is added', 'http://a.svc/q?name=${option.v}&n=1', 'a&admin=true', 'http://a.svc/q?name=a%26admin%3Dtrue&n=1'],
    ['a path segment: "%2e%2e" stays text, not a dot segment', 'http://a.svc/files/${option.v}', '%2e%2e', 'http://a.svc/files/%252e%252e'],
    ['a fragment', 'http://a.svc/p#${option.v}', 'x y', 'http://a.svc/p#x%20y'],
    ['the host where the template puts it', 'http://${option.v}.shop.svc:8080/x', 'cache-eu', 'http://cache-eu.shop.svc:8080/x'],
    ['the port where the template puts it', 'https://a.svc:${option.v}/x', '8443', 'https://a.svc:8443/x'],
  ])('a value in %s', (_, template, value, expected) => {
    const { task, errors } = renderUrl(template, value);
    expect(errors).toEqual([]);
    expect((task!.manifest.spec as { request: { url: string } }).request.url).toBe(expected);
  });

  it.each([
    ['a host that is not a host name', 'http://${option.v}.svc/x', 'evil.com/x?', /host must be a host name/],
    ['a host with credentials', 'http://${option.v}/x', 'user@evil.com', /host must be a host name/],
    ['a port that is not digits', 'http://a.svc:${option.v}/x', '80@evil.com', /port must be digits/],
    ['credentials', 'http://${option.v}@a.svc/x', 'user:pass', /credentials/],
    ['a ".." segment', 'http://a.svc/files/${option.v}/x', '..', /would change the path/],
    ['a value completing a ".." segment', 'http://a.svc/files/.${option.v}/x', '.', /would change the path/],
  ])('a value cannot change the structure: %s', (_, template, value, message) => {
    const { task, errors } = renderUrl(template, value);
    expect(task).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ field: `${T}.request.url`, message: expect.stringMatching(message) })]);
  });

  it('the scheme is the template\'s: a variable there is a synth error', () => {
    const errors = validateRun(makeRun({ request: { method: 'GET', url: '${option.scheme}://a.svc/' } }));
    expect(errors).toEqual([expect.objectContaining({ field: `${T}.request.url`, message: expect.stringContaining('http:// or https://') })]);
  });

  it('reports every template problem at once, with the field and the fix', () => {
    const errors = validateRun(
      makeRun({
        request: {
          method: 'GET',
          url: 'ftp://a.svc/',
          headers: [{ name: 'Host', value: 'x' }, { name: 'X-Both', value: 'a', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'bad name', value: 'v' }],
          postData: { mimeType: 'text/plain' },
        },
        response: { successCondition: 'status ==' },
      }),
    );
    expect(errors.map((e) => e.field)).toEqual([
      `${T}.request.url`,
      `${T}.request.headers[0].name`,
      `${T}.request.headers[1]`,
      `${T}.request.headers[2].name`,
      `${T}.request.postData`,
      `${T}.response.successCondition`,
    ]);
  });

  it('a substituted header value with CR or LF (a second header, or request) is refused', () => {
    const run = makeRun({ request: { method: 'GET', url: 'http://a.svc/', headers: [{ name: 'X-Region', value: '${option.v}' }] } }, { 'option.v': 'eu\r\nX-Admin: 1' });
    const { task, errors } = renderTask(run, { indexKey: 'eu' }, 0);
    expect(task).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ field: `${T}.request.headers[0].value`, message: expect.stringContaining('CR, LF') })]);
  });

  it('unknown variables are reported with their field, in the URL too', () => {
    const { errors } = renderTask(makeRun({ request: { method: 'GET', url: 'http://a.svc/${option.nope}', headers: [{ name: 'X', value: '${option.nada}' }] } }), { indexKey: 'eu' }, 0);
    expect(errors.map((e) => [e.field, e.message])).toEqual([
      [`${T}.request.headers[0].value`, 'unknown variable ${option.nada}'],
      [`${T}.request.url`, 'unknown variable ${option.nope}'],
    ]);
  });
});

describe('observe and kill', () => {
  const object = (status?: HttpTaskStatus, spec: Record<string, unknown> = {}) => ({
    object: { apiVersion: 'taskplane.dev/v1alpha1', kind: 'HttpTask', metadata: { name: 't' }, spec: { request: { method: 'GET', url: 'http://a.svc/' }, ...spec }, ...(status && { status }) },
    createdByWatcher: false,
  });
  const template = { request: { method: 'GET', url: 'http://a.svc/' } };

  it.each([
    ['no status: waiting for the watcher (pending)', undefined, { state: 'Starting' }],
    ['Starting: the request is recorded and in flight', { state: 'Starting', startTime: '2026-01-01T00:00:00Z', executor: 'w' }, { state: 'Running', runningTimestamp: '2026-01-01T00:00:00Z' }],
    [
      'Succeeded, with the stored result',
      { state: 'Succeeded', statusCode: 200, startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:00:01Z', result: '{"n":1}' },
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: '2026-01-01T00:00:00Z', finishTimestamp: '2026-01-01T00:00:01Z', taskResult: { n: 1 } },
    ],
    ['ExecutorLost', { state: 'Failed', reason: 'ExecutorLost', message: 'gone' }, { state: 'Terminated', result: 'Failed', reason: 'ExecutorLost', message: 'gone' }],
    ['a truncated result is not parsed', { state: 'Succeeded', result: '{"n":', resultTruncated: true }, { state: 'Terminated', result: 'Succeeded', taskResult: undefined }],
  ] as const)('%s', (_, status, expected) => {
    expect(httpExecutor.observe(object(status as HttpTaskStatus) as never, template)).toEqual(expected);
  });

  it('kill sets spec.killTimestamp in place (Git never sets it); a finished task is left alone', () => {
    const now = new Date('2026-01-01T00:00:05Z');
    expect(httpExecutor.kill(object({ state: 'Starting' }) as never, template, now)).toEqual({ kind: 'mergePatch', patch: { spec: { killTimestamp: '2026-01-01T00:00:05.000Z' } } });
    expect(httpExecutor.kill(object({ state: 'Succeeded' }) as never, template, now).kind).toBe('impossible');
    expect(httpExecutor.observe(object({ state: 'Starting' }, { killTimestamp: now.toISOString() }) as never, template).state).toBe('Killing');
  });
});

describe('judgeResponse', () => {
  const response = (status: number, body: string, headers: Record<string, string> = {}) => ({ status, headers, body });

  it('succeeds on 2xx by default and keeps the parsed body', () => {
    expect(judgeResponse(undefined, response(200, '{"ok":true}'))).toEqual({ state: 'Succeeded', statusCode: 200, result: '{"ok":true}' });
    expect(judgeResponse(undefined, response(503, '{"ok":false}'))).toMatchObject({ state: 'Failed', reason: 'SuccessConditionNotMet', statusCode: 503 });
  });

  it('CEL over status, headers and body; failure wins; the result expression', () => {
    const rules = { successCondition: 'status == 200 && body.state == "done"', failureCondition: 'headers["x-error"] == "yes"', result: 'body.items.size()' };
    expect(judgeResponse(rules, response(200, '{"state":"done","items":[1,2,3]}'))).toEqual({ state: 'Succeeded', statusCode: 200, result: '3' });
    expect(judgeResponse(rules, response(200, '{"state":"done","items":[]}', { 'x-error': 'yes' }))).toMatchObject({ state: 'Failed', reason: 'FailureCondition' });
    expect(judgeResponse(rules, response(200, '{"state":"queued","items":[]}'))).toMatchObject({ state: 'Failed', reason: 'SuccessConditionNotMet' });
  });

  it('a body that does not parse cannot succeed: InvalidBody; on an error status the status is the reason', () => {
    expect(judgeResponse(undefined, response(200, '{not json'))).toMatchObject({ state: 'Failed', reason: 'InvalidBody', message: expect.stringContaining('not valid JSON') });
    expect(judgeResponse(undefined, response(500, '<html>oops</html>'))).toMatchObject({ state: 'Failed', reason: 'SuccessConditionNotMet', message: expect.stringContaining('status 500') });
  });

  it('yaml and text formats', () => {
    expect(judgeResponse({ format: 'yaml', successCondition: 'body.a == 1' }, response(200, 'a: 1\n'))).toMatchObject({ state: 'Succeeded', result: '{"a":1}' });
    expect(judgeResponse({ format: 'text', successCondition: 'body.startsWith("OK")' }, response(200, 'OK done'))).toMatchObject({ state: 'Succeeded', result: '"OK done"' });
  });

  it(`the stored result is cut at ${MAX_HTTP_RESULT_BYTES} bytes and says so`, () => {
    const stored = storedResult({ data: 'é'.repeat(MAX_HTTP_RESULT_BYTES) });
    expect(stored.resultTruncated).toBe(true);
    expect(Buffer.byteLength(stored.result!)).toBeLessThanOrEqual(MAX_HTTP_RESULT_BYTES);
    expect(stored.resultBytes).toBe(Buffer.byteLength(JSON.stringify({ data: 'é'.repeat(MAX_HTTP_RESULT_BYTES) })));
  });
});
