/**
 * The `taskplane` command. Exit codes: 0 success, 1 failure (API or cluster error), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { ApiError } from '../watcher/kube/client.js';
import { kill } from './kill.js';
import { UsageError } from './kube.js';
import { watch } from './watch.js';

const USAGE = `usage: taskplane <command> [flags]

commands:
  watch               run the watcher (JobRun status, retries, timeouts, kills)
  kill <run>          kill a run: its unfinished tasks are stopped in place

flags (all commands):
  --kubeconfig FILE   kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)
  --context NAME      kubeconfig context
  -n, --namespace NS  namespace (watch: restrict to it; default all; others: default the context's)

watch flags:
  --metrics-address HOST:PORT   /metrics, /healthz, /readyz (default 0.0.0.0:8080)
  --leader-elect=false          run without leader election (one replica only)
  --lease-namespace NS          namespace of the leader Lease (default $POD_NAMESPACE or taskplane-system)
  --lease-name NAME             (default taskplane-watcher)
  --identity ID                 (default hostname-pid)
  --workers N                   concurrent reconciles of different runs (default 2)
  --log-level LEVEL             (default info)

kill flags:
  --at TIME           kill at this RFC 3339 time instead of now
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'metrics-address': { type: 'string', default: '0.0.0.0:8080' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'taskplane-system' },
      'lease-name': { type: 'string', default: 'taskplane-watcher' },
      identity: { type: 'string' },
      workers: { type: 'string', default: '2' },
      'log-level': { type: 'string', default: 'info' },
      at: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const connection = { kubeconfig: values.kubeconfig, context: values.context };
  switch (command) {
    case 'watch':
      await watch({
        ...connection,
        namespace: values.namespace,
        metricsAddress: values['metrics-address']!,
        leaderElect: values['leader-elect'] !== 'false',
        leaseNamespace: values['lease-namespace']!,
        leaseName: values['lease-name']!,
        identity: values.identity,
        workers: Number(values.workers),
        logLevel: values['log-level']!,
      });
      return 0;
    case 'kill':
      if (rest.length !== 1) throw new UsageError('usage: taskplane kill <run> [-n namespace] [--at time]');
      process.stdout.write(`${await kill(rest[0]!, { ...connection, namespace: values.namespace, at: values.at })}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"; run taskplane --help`);
  }
}

export async function run(argv: string[]): Promise<never> {
  try {
    process.exit(await main(argv));
  } catch (error) {
    const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    const message = error instanceof ApiError && error.status === 0 ? `cannot reach the cluster: ${error.message}; check --kubeconfig/--context` : (error as Error).message;
    process.stderr.write(`taskplane: ${message}\n`);
    process.exit(usage ? 2 : 1);
  }
}
