import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { CompletionStrategy, JobConfig, Option, Parallelism, TaskTemplate } from '../../constructs/index.js';

/**
 * Month-end report export, hedged: three identical batch Jobs race on different nodes and the first
 * to succeed wins (AnySuccessful); the watcher stops the others in place.
 */
export function reportExport(scope: Construct): void {
  const exportJob = new JobConfig(scope, 'report-export', {
    options: {
      month: Option.string({ required: true }),
      format: Option.select({ values: ['csv', 'parquet'], default: 'parquet' }),
    },
    parallelism: Parallelism.withCount(3, { completionStrategy: CompletionStrategy.ANY_SUCCESSFUL }),
    pendingTimeout: Duration.minutes(10),
    taskTimeout: Duration.minutes(45),
    task: TaskTemplate.job({
      metadata: { labels: { 'reports.example.com/month': '${option.month}' } },
      spec: {
        // Two Pods per attempt: the Colonies-style shape (nodes x processes) as parallelism x containers.
        parallelism: 2,
        completions: 2,
        completionMode: 'Indexed',
        template: {
          spec: {
            containers: [
              { name: 'export', image: 'registry.example.com/reports/exporter:3.2.0', args: ['--month=${option.month}', '--format=${option.format}', '--replica=${task.index_num}'] },
              { name: 'uploader', image: 'registry.example.com/reports/uploader:1.0.1', args: ['--prefix=reports/${option.month}/${task.name}'] },
            ],
          },
        },
      },
    }),
  });

  exportJob.run('2026-10', { options: { month: '2026-10', format: 'csv' } });
}
