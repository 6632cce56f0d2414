/**
 * Judging an HTTP response (pure): the body parsed per `format`, the CEL rules over `status`,
 * `headers` and `body`, and the result stored as bounded JSON text. The watcher calls it once the
 * body is read; the engine never touches the network.
 */
import { parse as parseYaml } from 'yaml';
import { HTTP_DEFAULTS, MAX_HTTP_MESSAGE_CHARS, MAX_HTTP_RESULT_BYTES, type HttpResponseRules, type HttpTaskStatus } from '../schema/http.js';
import { celToJson, evaluateCel } from './_cel.js';

export interface HttpResponseData {
  readonly status: number;
  /** Lower-case header names; repeated headers joined with ", " (as fetch does). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The terminal part of an HttpTask's status for a response that arrived. */
export type HttpVerdict = Pick<HttpTaskStatus, 'state' | 'reason' | 'message' | 'statusCode' | 'result' | 'resultTruncated' | 'resultBytes'>;

export function judgeResponse(rules: HttpResponseRules | undefined, response: HttpResponseData): HttpVerdict {
  const format = rules?.format ?? 'json';
  const parsed = parseBody(format, response.body);
  const bindings = { status: BigInt(response.status), headers: response.headers, body: parsed.body ?? null };
  const holds = (expression: string | undefined) => expression !== undefined && evaluateCel(expression, bindings) === true;
  const successCondition = rules?.successCondition ?? HTTP_DEFAULTS.successCondition;
  const statusCode = response.status;
  let verdict: HttpVerdict;
  if (holds(rules?.failureCondition)) {
    verdict = { state: 'Failed', reason: 'FailureCondition', message: bounded(`status ${statusCode}; failureCondition holds: ${rules!.failureCondition}`) };
  } else if (!holds(successCondition)) {
    verdict = { state: 'Failed', reason: 'SuccessConditionNotMet', message: bounded(`status ${statusCode}; successCondition does not hold: ${successCondition}${parsed.error ? ` (${parsed.error})` : ''}`) };
  } else if (parsed.error) {
    // A success cannot rest on a body that does not parse: the conditions saw no body.
    verdict = { state: 'Failed', reason: 'InvalidBody', message: bounded(`status ${statusCode}; ${parsed.error}`) };
  } else verdict = { state: 'Succeeded' };
  const value = rules?.result === undefined ? parsed.body : celToJson(evaluateCel(rules.result, bindings));
  return { ...verdict, statusCode, ...storedResult(value) };
}

function parseBody(format: NonNullable<HttpResponseRules['format']>, text: string): { body?: unknown; error?: string } {
  if (format === 'text') return { body: text };
  if (text.trim() === '') return { body: null };
  try {
    return { body: format === 'json' ? JSON.parse(text) : parseYaml(text) };
  } catch (error) {
    return { error: `the body is not valid ${format.toUpperCase()}: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** The result as JSON text, cut at MAX_HTTP_RESULT_BYTES (on a character boundary). */
export function storedResult(value: unknown): Pick<HttpTaskStatus, 'result' | 'resultTruncated' | 'resultBytes'> {
  if (value === undefined) return {};
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  if (bytes <= MAX_HTTP_RESULT_BYTES) return { result: text };
  return { result: Buffer.from(text).subarray(0, MAX_HTTP_RESULT_BYTES).toString('utf8').replace(/\uFFFD$/, ''), resultTruncated: true, resultBytes: bytes };
}

/** Messages stay short: they end up in the run's status and events. */
export function bounded(message: string): string {
  return message.length <= MAX_HTTP_MESSAGE_CHARS ? message : `${message.slice(0, MAX_HTTP_MESSAGE_CHARS - 3)}...`;
}
