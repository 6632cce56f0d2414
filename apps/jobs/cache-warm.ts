import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { JobConfig, Option, Parallelism, TaskTemplate } from '../../constructs/index.js';

/**
 * Warms the storefront cache after a deploy: one HTTP request per region to the internal cache
 * service, performed by the watcher (no Pod). The token comes from a Secret at request time; the
 * response must say how many keys were warmed, which becomes the task's result.
 */
export function cacheWarm(scope: Construct): void {
  const warm = new JobConfig(scope, 'cache-warm', {
    options: {
      release: Option.string({ required: true }),
      depth: Option.select({ values: ['shallow', 'full'], default: 'shallow' }),
    },
    parallelism: Parallelism.withKeys(['eu-west', 'us-east', 'ap-south']),
    maxAttempts: 3,
    retryDelay: Duration.seconds(30),
    taskTimeout: Duration.minutes(10),
    task: TaskTemplate.http({
      request: {
        method: 'POST',
        // The region lands in its path segment only, encoded; the host is the template's.
        url: 'http://storefront-cache.shop.svc:8080/v1/regions/${task.index_key}/warm',
        queryString: [{ name: 'depth', value: '${option.depth}' }],
        headers: [
          { name: 'Authorization', valueFrom: { secretKeyRef: { name: 'storefront-cache-token', key: 'authorization' } } },
          { name: 'X-Release', value: '${option.release}' },
        ],
        postData: { mimeType: 'application/json', text: '{"release":"${option.release}","requestedBy":"${job.name}"}' },
      },
      response: {
        successCondition: 'status == 200 && body.warmed > 0',
        failureCondition: 'status == 409',
        result: '{"warmed": body.warmed, "region": body.region}',
      },
      timeout: Duration.minutes(5),
    }),
  });

  warm.run('release-2026-11-20', { options: { release: '2026.11.20' } });
}
