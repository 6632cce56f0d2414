import type { Construct } from 'constructs';
import { JobConfig, type FunctionSpec } from '../../constructs/index.js';

/**
 * The ColonyOS KubeExecutor's example function spec (seed 004), as written there: `echo "Hello,
 * World!"` in busybox on 2 nodes × 2 processes, 1Gi and half a core per process, the Kubernetes Job
 * removed after 90 s, a process timed out after 80 s and retried up to 3 times.
 */
export const helloWorldSpec: FunctionSpec = {
  conditions: {
    executortype: 'kubeexecutor',
    nodes: 2,
    'processes-per-node': 2,
    mem: '1Gi',
    cpu: '500m',
    walltime: 90,
  },
  funcname: 'execute',
  kwargs: {
    cmd: 'echo',
    'docker-image': 'busybox',
    args: ['Hello, World!'],
  },
  maxexectime: 80,
  maxretries: 3,
};

export function coloniesHello(scope: Construct): void {
  const hello = JobConfig.fromFunctionSpec(scope, 'colonies-hello', helloWorldSpec);
  hello.run('first', {});
}
