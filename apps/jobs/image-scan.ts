import type { Construct } from 'constructs';
import { CustomResourceManifest, JobConfig, Option, Parallelism, TaskTemplate } from '../../constructs/index.js';

/** Vulnerability scan of each service image as a Tekton TaskRun: any custom resource, read with CEL. */
export function imageScan(scope: Construct): void {
  const scan = new JobConfig(scope, 'image-scan', {
    options: {
      severities: Option.multi({ values: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], delimiter: ',', default: ['HIGH', 'CRITICAL'] }),
      tag: Option.string({ default: 'latest' }),
    },
    parallelism: Parallelism.withKeys(['api', 'web', 'worker']),
    maxAttempts: 2,
    task: TaskTemplate.customResource({
      manifest: CustomResourceManifest.fromYaml(`
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  labels:
    scan.example.com/service: \${task.index_key}
spec:
  taskRef:
    name: trivy-scan
  params:
    - name: image
      value: registry.example.com/\${task.index_key}:\${option.tag}
    - name: severities
      value: \${option.severities}
`),
      successCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'True')",
      failureCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'False')",
      runningCondition: 'has(self.status.startTime)',
      resultExpression: 'self.status.results',
      killPatch: { spec: { status: 'TaskRunCancelled' } },
    }),
  });

  scan.run('2026-11-21', { options: { tag: '2026.11.21' }, substitutions: {} });
}
