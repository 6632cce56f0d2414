/**
 * An HttpTask's spec as the request on the wire: the URL with `queryString` added, headers with
 * Secret values read now (never stored), cookies, the body, `Idempotency-Key`. The Secret values live
 * only in the returned request, which nothing logs or writes.
 */
import { LABEL_RUN, LABEL_TASK_INDEX } from '../engine/labels.js';
import { HTTP_DEFAULTS, type HttpTaskSpec } from '../engine/schema/http.js';
import { HttpFailure, type OutgoingRequest } from './http-client.js';
import { ApiError, type KubeClient, type KubeObject } from './kube/client.js';

/** Never forwarded to another host on a redirect. */
const PRIVATE_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * Stable across the attempts of one index, so a server that deduplicates by it sees a retry of a
 * request it may already have processed (after ExecutorLost) as the same operation.
 */
export function idempotencyKey(task: KubeObject): string {
  const { namespace, labels, name } = task.metadata;
  return `${namespace}/${labels?.[LABEL_RUN] ?? name}/${labels?.[LABEL_TASK_INDEX] ?? name}`;
}

/** The request, and the Secret values in it (so nothing the watcher writes can carry them). */
export interface PreparedRequest {
  readonly outgoing: OutgoingRequest;
  readonly secretValues: readonly string[];
}

export async function prepareRequest(task: KubeObject & { spec: HttpTaskSpec }, client: KubeClient): Promise<PreparedRequest> {
  const { spec } = task;
  const request = spec.request;
  const url = new URL(request.url);
  for (const { name, value } of request.queryString ?? []) url.searchParams.append(name, value);
  const headers: [string, string][] = [];
  const privateHeaders = new Set(PRIVATE_HEADERS);
  const secretValues: string[] = [];
  for (const header of request.headers ?? []) {
    const ref = header.valueFrom?.secretKeyRef;
    if (!ref) {
      headers.push([header.name, header.value ?? '']);
      continue;
    }
    privateHeaders.add(header.name.toLowerCase());
    const value = await secretValue(client, task.metadata.namespace!, ref.name, ref.key, header.name);
    secretValues.push(value);
    headers.push([header.name, value]);
  }
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (request.cookies?.length) headers.push(['Cookie', request.cookies.map((c) => `${c.name}=${c.value}`).join('; ')]);
  let body: string | undefined;
  const postData = request.postData;
  if (postData) {
    body = postData.text ?? new URLSearchParams((postData.params ?? []).map((p): [string, string] => [p.name, p.value ?? ''])).toString();
    if (!has('content-type')) headers.push(['Content-Type', postData.params ? 'application/x-www-form-urlencoded' : postData.mimeType]);
  }
  if (!has('idempotency-key')) headers.push(['Idempotency-Key', idempotencyKey(task)]);
  const outgoing: OutgoingRequest = {
    method: request.method.toUpperCase(),
    url: url.toString(),
    headers,
    privateHeaders,
    ...(body !== undefined && { body }),
    http1Only: request.httpVersion === 'HTTP/1.1',
    maxRedirects: spec.redirects?.max ?? HTTP_DEFAULTS.maxRedirects,
    crossHostRedirects: spec.redirects?.crossHost ?? false,
    maxResponseBytes: spec.maxResponseBytes ?? HTTP_DEFAULTS.maxResponseBytes,
    timeoutMs: (spec.timeoutSeconds ?? HTTP_DEFAULTS.timeoutSeconds) * 1000,
  };
  return { outgoing, secretValues };
}

/** Values shorter than this are not redacted: they would match ordinary text. */
const MIN_REDACTED_LENGTH = 4;

/**
 * The verdict with every Secret value the request carried replaced: a server that echoes its request
 * (headers in an error message or body) must not get a Secret into the status.
 */
export function redactSecrets<T extends { result?: string; message?: string }>(verdict: T, secretValues: readonly string[]): T {
  const secrets = secretValues.filter((v) => v.length >= MIN_REDACTED_LENGTH);
  if (secrets.length === 0) return verdict;
  const redact = (text: string | undefined) => {
    if (text === undefined) return undefined;
    // Also as JSON escapes them (the result is JSON text).
    for (const secret of secrets) for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) text = text.split(form).join('[redacted]');
    return text;
  };
  return { ...verdict, ...(verdict.result !== undefined && { result: redact(verdict.result) }), ...(verdict.message !== undefined && { message: redact(verdict.message) }) };
}

/** One key of a Secret in the task's namespace; errors name the Secret and key, never a value. */
async function secretValue(client: KubeClient, namespace: string, name: string, key: string, header: string): Promise<string> {
  let secret: KubeObject & { data?: Record<string, string> };
  try {
    secret = await client.get('v1', 'Secret', namespace, name);
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0;
    if (status === 404) throw new HttpFailure('SecretNotFound', `header ${header}: Secret ${namespace}/${name} does not exist`);
    if (status === 403) throw new HttpFailure('SecretForbidden', `header ${header}: the watcher may not read Secret ${namespace}/${name}; name it in WatcherExecutor.http({ secretNames })`);
    throw error;
  }
  const encoded = secret.data?.[key];
  if (encoded === undefined) throw new HttpFailure('SecretKeyNotFound', `header ${header}: Secret ${namespace}/${name} has no key ${key}`);
  const value = Buffer.from(encoded, 'base64').toString('utf8');
  if (/[\r\n\0]/.test(value)) throw new HttpFailure('InvalidSecretValue', `header ${header}: the value of Secret ${namespace}/${name} key ${key} contains CR, LF or NUL`);
  return value;
}
