import type { Manifest } from './types.js';

interface TemplateMetadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The object skeleton shared by the typed executors: template labels and annotations, copied. */
export function objectFrom(apiVersion: string, kind: string, metadata: TemplateMetadata | undefined, spec: object): Manifest {
  return {
    apiVersion,
    kind,
    metadata: {
      ...(metadata?.labels && { labels: { ...metadata.labels } }),
      ...(metadata?.annotations && { annotations: { ...metadata.annotations } }),
    },
    spec: structuredClone(spec),
  };
}
