import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { JobConfig, Option, Parallelism, TaskTemplate } from '../../constructs/index.js';

/** Cross-compile a release for every OS x architecture: one Argo Workflow per matrix cell. */
export function matrixBuild(scope: Construct): void {
  const build = new JobConfig(scope, 'release-build', {
    options: {
      ref: Option.string({ required: true, label: 'Git ref' }),
      race: Option.bool({ default: false }),
    },
    parallelism: Parallelism.withMatrix({ goos: ['linux', 'darwin', 'windows'], goarch: ['amd64', 'arm64'] }),
    maxAttempts: 2,
    task: TaskTemplate.workflow({
      metadata: { labels: { 'build.example.com/target': '${task.index_matrix.goos}-${task.index_matrix.goarch}' } },
      spec: {
        entrypoint: 'build',
        serviceAccountName: 'release-build',
        arguments: {
          parameters: [
            { name: 'ref', value: '${option.ref}' },
            { name: 'goos', value: '${task.index_matrix.goos}' },
            { name: 'goarch', value: '${task.index_matrix.goarch}' },
          ],
        },
        templates: [
          {
            name: 'build',
            inputs: { parameters: [{ name: 'ref' }, { name: 'goos' }, { name: 'goarch' }] },
            container: {
              image: 'golang:1.26',
              command: ['sh', '-c'],
              // Argo's own {{...}} syntax and the shell's ${...} pass through untouched.
              args: ['git checkout {{inputs.parameters.ref}} && GOOS={{inputs.parameters.goos}} go build -race=${option.race} -o "${OUT_DIR:-out}/${task.name}" ./...'],
            },
          },
        ],
      },
    }),
  });

  new k8s.KubeServiceAccount(build, 'service-account', { metadata: { name: 'release-build' } });

  build.run('v2-4-0', { options: { ref: 'v2.4.0' } });
}
