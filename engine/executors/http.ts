/**
 * `http`: each task is an `HttpTask` object that the watcher performs (watcher/http-runner.ts). Render
 * turns the template into the object (the URL substituted structure-safely, see http-url.ts); observe
 * reads the state the watcher recorded in its status; kill sets `spec.killTimestamp`, which the
 * watcher answers by aborting the request or never sending it.
 */
import { childField, type FieldError } from '../errors.js';
import { GROUP_VERSION } from '../schema/resources.js';
import type { HttpTaskSpec, HttpTaskStatus } from '../schema/http.js';
import type { HttpTemplate } from '../schema/template.js';
import { substitute, type VariableScope } from '../substitution.js';
import { celSyntaxError } from './_cel.js';
import { objectFrom } from './_metadata.js';
import { unlessDeleting, unlessFinished } from './_observe.js';
import { substituteUrl, urlSchemeError } from './http-url.js';
import type { Executor, LiveTask, Manifest, TaskObservation } from './types.js';

export const HTTP_TASK_KIND = { apiVersion: GROUP_VERSION, kind: 'HttpTask' } as const;

/** Headers the HTTP client owns: a template setting them could smuggle a second request or lie about the body. */
const CLIENT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EXPRESSIONS = ['successCondition', 'failureCondition', 'result'] as const;

function validate(template: HttpTemplate, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const request = template.request;
  const schemeError = urlSchemeError(request.url, `${field}.request.url`);
  if (schemeError) errors.push(schemeError);
  (request.headers ?? []).forEach((header, i) => {
    const at = `${field}.request.headers[${i}]`;
    if ((header.value === undefined) === (header.valueFrom === undefined)) errors.push({ field: at, message: 'needs exactly one of value and valueFrom', value: header.name });
    if (CLIENT_HEADERS.has(header.name.toLowerCase())) errors.push({ field: `${at}.name`, message: 'is set by the HTTP client itself', value: header.name, valid: 'any other header' });
    else if (!TOKEN.test(header.name)) errors.push({ field: `${at}.name`, message: 'is not a valid header name', value: header.name, valid: 'letters, digits and !#$%&\'*+.^_`|~-' });
  });
  const postData = request.postData;
  if (postData && (postData.text === undefined) === (postData.params === undefined)) {
    errors.push({ field: `${field}.request.postData`, message: 'needs exactly one of text and params' });
  }
  for (const key of EXPRESSIONS) {
    const expression = template.response?.[key];
    const problem = expression === undefined ? undefined : celSyntaxError(expression);
    if (problem) errors.push({ field: `${field}.response.${key}`, message: `CEL does not compile: ${problem}`, value: expression });
  }
  return errors;
}

/** What substitution can break: CR or LF in a header line would start another header (or request). */
function validateRendered(manifest: Manifest, field: string): FieldError[] {
  const spec = manifest.spec as HttpTaskSpec;
  const errors: FieldError[] = [];
  const lines: [string, string | undefined][] = [
    ...(spec.request.headers ?? []).map((h, i) => [`request.headers[${i}].value`, h.value] as [string, string | undefined]),
    ...(spec.request.cookies ?? []).map((c, i) => [`request.cookies[${i}].value`, c.value] as [string, string | undefined]),
    ['request.postData.mimeType', spec.request.postData?.mimeType],
  ];
  for (const [path, value] of lines) {
    if (value !== undefined && /[\r\n\0]/.test(value)) errors.push({ field: `${field}.${path}`, message: 'a header value cannot contain CR, LF or NUL (after substitution)', value });
  }
  return errors;
}

function manifest(template: HttpTemplate): Manifest {
  const { metadata, ...spec } = template;
  return objectFrom(HTTP_TASK_KIND.apiVersion, HTTP_TASK_KIND.kind, metadata, spec);
}

/** Like every template, with the URL substituted structure-safely; error fields are the template's. */
function substituteTask(unresolved: Manifest, scope: VariableScope, field: string): { value: Manifest; errors: FieldError[] } {
  const spec = unresolved.spec as HttpTaskSpec;
  const metadata = substitute(unresolved.metadata, scope, `${field}.metadata`);
  const rest = substitute({ ...spec, request: { ...spec.request, url: '' } }, scope, field);
  const errors = [...metadata.errors, ...rest.errors];
  const url = substituteUrl(spec.request.url, scope, childField(`${field}.request`, 'url'), errors);
  return { value: { ...unresolved, metadata: metadata.value, spec: { ...rest.value, request: { ...rest.value.request, url } } }, errors };
}

function parseResult(status: HttpTaskStatus): unknown {
  if (status.result === undefined || status.resultTruncated) return undefined;
  try {
    return JSON.parse(status.result);
  } catch {
    return undefined;
  }
}

function observe(task: LiveTask): TaskObservation {
  const status = (task.object.status ?? {}) as HttpTaskStatus;
  const killing = (task.object.spec as HttpTaskSpec | undefined)?.killTimestamp !== undefined;
  if (status.state === 'Succeeded' || status.state === 'Failed' || status.state === 'Killed') {
    return {
      state: 'Terminated',
      result: status.state,
      ...(status.reason && { reason: status.reason }),
      ...(status.message && { message: status.message }),
      ...(status.startTime && { runningTimestamp: status.startTime }),
      ...(status.completionTime && { finishTimestamp: status.completionTime }),
      taskResult: parseResult(status),
    };
  }
  // Starting: the watcher recorded that it sends the request, so it runs (from the engine's view).
  const sent = status.state === 'Starting' || status.state === 'Running';
  const observation: TaskObservation = sent ? { state: 'Running', ...(status.startTime && { runningTimestamp: status.startTime }) } : { state: 'Starting' };
  return unlessDeleting(task, killing ? { ...observation, state: 'Killing' } : observation);
}

export const httpExecutor: Executor<HttpTemplate> = {
  name: 'http',
  validate,
  validateRendered,
  manifest,
  substitute: substituteTask,
  observe,
  // In place for every task, Git-managed or not: Git never sets killTimestamp, and the watcher itself does the work.
  kill: (task, _template, now) => unlessFinished(observe(task), () => ({ kind: 'mergePatch', patch: { spec: { killTimestamp: now.toISOString() } } })),
};
