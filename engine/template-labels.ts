/**
 * Labels every task of a JobConfig carries (e.g. a cdk8s chart's labels), written into the config's
 * own template: its runs snapshot that template unchanged, so the watcher can check that a run's
 * template is its config's (engine/run/admission.ts) and retries carry the labels too.
 */
import type { JobTemplate } from './schema/template.js';

/** A copy of `template` whose task metadata has `labels` under the template's own (the template's win). */
export function withTaskLabels(template: JobTemplate, labels: Readonly<Record<string, string>>): JobTemplate {
  const copy = structuredClone(template);
  if (Object.keys(labels).length === 0) return copy;
  const [executor] = Object.keys(copy.taskTemplate) as (keyof JobTemplate['taskTemplate'])[];
  if (executor === 'customResource') {
    const manifest = copy.taskTemplate.customResource!.manifest as { metadata?: { labels?: Record<string, string> } };
    manifest.metadata = { ...manifest.metadata, labels: { ...labels, ...manifest.metadata?.labels } };
  } else if (executor) {
    const typed = copy.taskTemplate[executor]!;
    typed.metadata = { ...typed.metadata, labels: { ...labels, ...typed.metadata?.labels } };
  }
  return copy;
}
