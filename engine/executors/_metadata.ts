import type { TemplateMetadata } from '../labels.js';
import type { Manifest } from './types.js';

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
