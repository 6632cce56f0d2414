/** The labels and annotations taskplane puts on task objects, and Kubernetes' rules for them. */
import { childField, type FieldError } from './errors.js';

export const LABEL_RUN = 'taskplane.dev/run';
export const LABEL_CONFIG = 'taskplane.dev/config';
export const LABEL_TASK_INDEX = 'taskplane.dev/task-index';
export const LABEL_RETRY_INDEX = 'taskplane.dev/retry-index';
export const ANNOTATION_PARALLEL_INDEX = 'taskplane.dev/parallel-index';
/** The run's health speaks for its tasks: a retried first attempt must not degrade the app (DESIGN §5). */
export const ANNOTATION_ARGOCD_IGNORE_HEALTH = 'argocd.argoproj.io/ignore-healthcheck';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function labelValueError(value: string, field: string): FieldError | undefined {
  if (value.length > 63) return { field, message: `label value is ${value.length} characters`, value, valid: 'at most 63 characters' };
  if (!LABEL_VALUE.test(value)) {
    return { field, message: 'label value has characters that are not allowed', value, valid: 'letters, digits, "-", "_" and ".", starting and ending with a letter or digit' };
  }
  return undefined;
}

/** Label and annotation keys: `[prefix/]name`. */
export function metadataKeyError(key: string, field: string): FieldError | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (name.length <= 63 && QUALIFIED_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)))) return undefined;
  return { field, message: 'is not a valid key', value: key, valid: 'an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "."' };
}

/** The API server's limit on all of one object's annotations together, keys and values (bytes). */
export const MAX_ANNOTATIONS_BYTES = 262_144;

export interface TemplateMetadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Keys and (for labels) values of an object's labels and annotations, and the annotations' total size, after substitution. */
export function metadataErrors(metadata: TemplateMetadata, field: string): FieldError[] {
  const errors: (FieldError | undefined)[] = [];
  for (const [key, value] of Object.entries(metadata.labels ?? {})) {
    errors.push(metadataKeyError(key, `${field}.labels`), labelValueError(value, childField(`${field}.labels`, key)));
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
    errors.push(metadataKeyError(key, `${field}.annotations`));
    annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (annotationBytes > MAX_ANNOTATIONS_BYTES) {
    errors.push({ field: `${field}.annotations`, message: `annotations total ${annotationBytes} bytes (keys and values)`, valid: `at most ${MAX_ANNOTATIONS_BYTES} bytes (256 KiB) per object, the API server's limit` });
  }
  return errors.filter((e): e is FieldError => e !== undefined);
}
