/**
 * The `http` executor's schema: a request in HAR 1.2's request format, the rules that judge the
 * response, and the `HttpTask` object (one per task) whose status the watcher writes as it performs
 * the request. The template's fields are the HttpTask's spec, so one definition types both.
 */
import Type, { type Static } from 'typebox';
import { StrictObject, StringEnum, Timestamp } from './_builders.js';

export const HTTP_VERSIONS = ['HTTP/1.1', 'HTTP/2'] as const;
export const RESPONSE_FORMATS = ['json', 'yaml', 'text'] as const;
export const HTTP_TASK_STATES = ['Starting', 'Running', 'Succeeded', 'Failed', 'Killed'] as const;
export type HttpTaskState = (typeof HTTP_TASK_STATES)[number];

/** Defaults the watcher applies; named here so docs, schema and runtime agree. */
export const HTTP_DEFAULTS = {
  timeoutSeconds: 300,
  maxRedirects: 5,
  maxResponseBytes: 1_048_576,
  successCondition: 'status >= 200 && status < 300',
} as const;
/** The stored result (JSON text) is cut at this many bytes; `resultTruncated` says so. */
export const MAX_HTTP_RESULT_BYTES = 16_384;
/** A message (an error, a refusal) is cut at this many characters. */
export const MAX_HTTP_MESSAGE_CHARS = 1024;

const Comment = Type.Optional(Type.String({ description: 'HAR comment; ignored.' }));

const NameValueSchema = StrictObject({ name: Type.String({ minLength: 1 }), value: Type.String(), comment: Comment });

const SecretKeyRefSchema = StrictObject(
  { name: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) },
  { description: "A key of a Secret in the task's namespace, read by the watcher when it sends the request; never written anywhere." },
);

const HeaderSchema = StrictObject({
  name: Type.String({ minLength: 1 }),
  value: Type.Optional(Type.String({ description: 'The value (may use ${...} variables). Exactly one of value and valueFrom.' })),
  valueFrom: Type.Optional(StrictObject({ secretKeyRef: SecretKeyRefSchema })),
  comment: Comment,
});

const PostDataSchema = StrictObject({
  mimeType: Type.String({ minLength: 1, description: 'The Content-Type of the body.' }),
  text: Type.Optional(Type.String({ description: 'The body as text. Exactly one of text and params.' })),
  params: Type.Optional(
    Type.Array(
      StrictObject({ name: Type.String({ minLength: 1 }), value: Type.Optional(Type.String()), fileName: Type.Optional(Type.String()), contentType: Type.Optional(Type.String()), comment: Comment }),
      { description: 'Form fields, sent URL-encoded (application/x-www-form-urlencoded).' },
    ),
  ),
  comment: Comment,
});

export const HttpRequestSchema = StrictObject(
  {
    method: Type.String({ pattern: '^[A-Za-z]+$', description: 'GET, POST, PUT, PATCH, DELETE...' }),
    url: Type.String({ minLength: 1, description: 'http:// or https:// URL; substituted values cannot change its scheme, host or path segments.' }),
    httpVersion: Type.Optional(StringEnum(HTTP_VERSIONS, { description: 'HTTP/1.1 only, or HTTP/2 where the server offers it (TLS ALPN). Defaults to HTTP/2 where offered.' })),
    headers: Type.Optional(Type.Array(HeaderSchema)),
    queryString: Type.Optional(Type.Array(NameValueSchema, { description: 'Added to the URL\'s query, encoded.' })),
    postData: Type.Optional(PostDataSchema),
    cookies: Type.Optional(Type.Array(NameValueSchema, { description: 'Sent in one Cookie header.' })),
    headersSize: Type.Optional(Type.Integer({ description: 'HAR field; ignored.' })),
    bodySize: Type.Optional(Type.Integer({ description: 'HAR field; ignored.' })),
    comment: Comment,
  },
  { description: "A HAR 1.2 request object. Every string may use ${...} variables." },
);

export const HttpResponseRulesSchema = StrictObject({
  format: Type.Optional(StringEnum(RESPONSE_FORMATS, { description: 'How the body is parsed for `body` in CEL. Defaults to json.' })),
  successCondition: Type.Optional(
    Type.String({ minLength: 1, description: `CEL over status (int), headers (map, lower-case names) and body: true when the task succeeded. Defaults to ${HTTP_DEFAULTS.successCondition}.` }),
  ),
  failureCondition: Type.Optional(Type.String({ minLength: 1, description: 'CEL: true when the task failed (wins over successCondition).' })),
  result: Type.Optional(Type.String({ minLength: 1, description: 'CEL: the task result. Defaults to the parsed body.' })),
});

/** The fields an http task template and an HttpTask's spec share. */
export const HTTP_TASK_FIELDS = {
  request: HttpRequestSchema,
  response: Type.Optional(HttpResponseRulesSchema),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: `The whole request, connect to last body byte. Defaults to ${HTTP_DEFAULTS.timeoutSeconds}.` })),
  redirects: Type.Optional(
    StrictObject({
      max: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: `Redirects followed. Defaults to ${HTTP_DEFAULTS.maxRedirects}.` })),
      crossHost: Type.Optional(Type.Boolean({ description: 'Follow redirects to another host (the egress policy still applies). Defaults to false.' })),
    }),
  ),
  maxResponseBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 * 1_048_576, description: `Bodies larger than this fail the task. Defaults to ${HTTP_DEFAULTS.maxResponseBytes}.` })),
};

export const HttpTaskSpecSchema = StrictObject({
  ...HTTP_TASK_FIELDS,
  killTimestamp: Type.Optional(Timestamp('Set by the watcher to stop the task: an in-flight request is aborted, an unsent one never sent.')),
});

export const HttpTaskStatusSchema = StrictObject({
  state: Type.Optional(StringEnum(HTTP_TASK_STATES)),
  executor: Type.Optional(Type.String({ description: 'The watcher process that recorded, before sending, that it sends the request.' })),
  startTime: Type.Optional(Timestamp('When the request was about to be sent.')),
  completionTime: Type.Optional(Timestamp('When the task finished.')),
  statusCode: Type.Optional(Type.Integer({ description: 'The final response status (after redirects).' })),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  result: Type.Optional(Type.String({ description: `The result as JSON text, at most ${MAX_HTTP_RESULT_BYTES} bytes.` })),
  resultTruncated: Type.Optional(Type.Boolean({ description: 'The result was longer than the limit and is cut.' })),
  resultBytes: Type.Optional(Type.Integer({ description: 'The size of the whole result as JSON.' })),
});

export type HttpRequest = Static<typeof HttpRequestSchema>;
export type HttpHeader = NonNullable<HttpRequest['headers']>[number];
export type HttpResponseRules = Static<typeof HttpResponseRulesSchema>;
export type HttpTaskSpec = Static<typeof HttpTaskSpecSchema>;
export type HttpTaskStatus = Static<typeof HttpTaskStatusSchema>;
