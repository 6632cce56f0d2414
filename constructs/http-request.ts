import type { Duration } from 'cdk8s';
import type { HttpTemplate } from '../engine/schema/template.js';
import type { TaskMetadata } from './task-template.js';

/** A `name: value` pair of a HAR request (query parameters, cookies). */
export interface HarNameValue {
  readonly name: string;
  /** May use `${...}` variables; encoded where it is sent. */
  readonly value: string;
  /** @default - none (HAR comment, ignored) */
  readonly comment?: string;
}

/** A key of a Secret in the task's namespace. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/** A request header: a value, or a Secret key the watcher reads when it sends the request. */
export interface HarHeader {
  readonly name: string;
  /**
   * The value; may use `${...}` variables.
   * @default - none: `valueFrom` must be set (exactly one of the two)
   */
  readonly value?: string;
  /**
   * The value from a Secret, read by the watcher at request time and never written to status, events,
   * logs or the rendered YAML. WatcherInstall must name the Secret (`WatcherExecutor.http({ secretNames })`).
   * @default - none: `value` must be set
   */
  readonly valueFrom?: { readonly secretKeyRef: SecretKeyRef };
  /** @default - none */
  readonly comment?: string;
}

/** A form field of `postData.params` (sent URL-encoded). */
export interface HarParam {
  readonly name: string;
  /** @default '' */
  readonly value?: string;
  /** @default - none (HAR field, not sent) */
  readonly fileName?: string;
  /** @default - none (HAR field, not sent) */
  readonly contentType?: string;
  /** @default - none */
  readonly comment?: string;
}

/** The request body. */
export interface HarPostData {
  /** The Content-Type, e.g. `application/json`. */
  readonly mimeType: string;
  /** @default - none: `params` must be set (exactly one of the two) */
  readonly text?: string;
  /** @default - none: `text` must be set */
  readonly params?: readonly HarParam[];
  /** @default - none */
  readonly comment?: string;
}

/**
 * A request in HAR 1.2's request format (what browsers' "Copy as HAR" gives). Every string may use
 * `${...}` variables; in `url` a value lands only in the part where the template put it, encoded.
 */
export interface HarRequest {
  /** GET, POST, PUT, PATCH, DELETE... */
  readonly method: string;
  /** An http:// or https:// URL, e.g. `http://reports.billing.svc/v1/run?region=${option.region}`. */
  readonly url: string;
  /** @default - HTTP/2 where the server offers it over TLS, else HTTP/1.1 */
  readonly httpVersion?: 'HTTP/1.1' | 'HTTP/2';
  /** @default - none; the watcher adds `Idempotency-Key` unless one is given */
  readonly headers?: readonly HarHeader[];
  /** Added to the URL's query, encoded. @default - none */
  readonly queryString?: readonly HarNameValue[];
  /** @default - no body */
  readonly postData?: HarPostData;
  /** Sent in one Cookie header. @default - none */
  readonly cookies?: readonly HarNameValue[];
  /** HAR fields, accepted and ignored. @default - none */
  readonly headersSize?: number;
  /** @default - none */
  readonly bodySize?: number;
  /** @default - none */
  readonly comment?: string;
}

/** How a response is judged and what is kept of it. */
export interface HttpResponseRules {
  /** How `body` is parsed for the CEL expressions. @default 'json' */
  readonly format?: 'json' | 'yaml' | 'text';
  /**
   * CEL over `status` (int), `headers` (map of lower-case names) and `body`: true when the task succeeded.
   * @default 'status >= 200 && status < 300'
   */
  readonly successCondition?: string;
  /** CEL: true when the task failed; wins over successCondition. @default - none */
  readonly failureCondition?: string;
  /** CEL: the task's result. @default - the parsed body (cut at 16 KiB of JSON in the HttpTask) */
  readonly result?: string;
}

export interface HttpTaskProps {
  readonly request: HarRequest;
  /** @default - success on a 2xx status, the parsed JSON body as result */
  readonly response?: HttpResponseRules;
  /**
   * The whole request, connection to last body byte; past it the task fails with `Timeout`. The
   * JobConfig's taskTimeout kills the task as for any executor.
   * @default Duration.minutes(5) - long enough for a report to be generated, short enough that a hung server is noticed
   */
  readonly timeout?: Duration;
  /** @default 5 - as browsers cap redirect chains, well under fetch's 20 */
  readonly maxRedirects?: number;
  /**
   * Follow redirects to another host (the watcher's egress policy still decides each hop).
   * @default false - a redirect off the service a template names is refused
   */
  readonly crossHostRedirects?: boolean;
  /** Larger bodies fail the task (`BodyTooLarge`). @default 1048576 (1 MiB) */
  readonly maxResponseBytes?: number;
  /** Labels and annotations of each HttpTask object. @default - none */
  readonly metadata?: TaskMetadata;
}

/** The template's `http` field, from the props (the schema checks it at synth). @internal */
export function httpTemplate(props: HttpTaskProps): HttpTemplate {
  const redirects = {
    ...(props.maxRedirects !== undefined && { max: props.maxRedirects }),
    ...(props.crossHostRedirects !== undefined && { crossHost: props.crossHostRedirects }),
  };
  return structuredClone({
    ...(props.metadata && { metadata: { ...props.metadata } }),
    request: props.request,
    ...(props.response && { response: props.response }),
    ...(props.timeout && { timeoutSeconds: props.timeout.toSeconds() }),
    ...(Object.keys(redirects).length && { redirects }),
    ...(props.maxResponseBytes !== undefined && { maxResponseBytes: props.maxResponseBytes }),
  }) as HttpTemplate;
}
