/**
 * The `taskplane` command. Exit codes: 0 success, 1 failure (API or cluster error), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { describeError } from './errors.js';
import { kill } from './kill.js';
import { UsageError } from './kube.js';
import { outputFormat } from './output.js';
import { render, run as runCommand } from './run.js';
import { pauseSchedule } from './schedule.js';
import { status } from './status.js';
import { watch } from './watch.js';

const USAGE = `usage: taskplane <command> [flags]

commands:
  status [run]           the schedules and runs of a namespace, or one run as a grid of indexes x attempts
  run <config>           create a Deferred JobRun from a JobConfig in the cluster (the watcher starts it)
  render <config>        print what a run of a JobConfig would create, without creating anything
  kill <run>             kill a run: its unfinished tasks are stopped in place
  schedule pause <config>    no scheduled runs until resumed (an annotation the watcher reads, not a Git field)
  schedule resume <config>   scheduled runs again, from now on (missed ones are not created)
  watch                  run the watcher (JobRun status, retries, timeouts, kills)

flags (all commands):
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)
  --context NAME         kubeconfig context
  -n, --namespace NS     namespace (default: the context's; watch: all namespaces)
  -o, --output FORMAT    table (default), json or yaml (render: yaml or json)

status flags:
  -A, --all-namespaces   runs of every namespace
  -w, --watch            redraw every second until interrupted

run and render flags:
  --option NAME=VALUE    an option value (repeatable); Bool: true/false, Multi: comma-separated
  --substitution K=V     a variable for \${K} (repeatable)
  --name NAME            the run's name (default <config>-<UTC timestamp>)
  --start-after TIME     run: start no earlier than this RFC 3339 time
  -f, --file FILE        render: read the JobConfig from a YAML file (e.g. synth output) instead of the cluster

kill flags:
  --at TIME              kill at this RFC 3339 time instead of now

watch flags:
  --metrics-address HOST:PORT   /metrics, /healthz, /readyz (default 0.0.0.0:8080)
  --leader-elect=false          run without leader election (one replica only)
  --lease-namespace NS          namespace of the leader Lease (default $POD_NAMESPACE or taskplane-system)
  --lease-name NAME             (default taskplane-watcher)
  --identity ID                 (default hostname-pid)
  --workers N                   concurrent reconciles of different runs (default 2)
  --log-level LEVEL             (default info)

exit codes: 0 success, 1 the cluster failed or refused, 2 the command or its input is wrong.
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
      output: { type: 'string', short: 'o' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      watch: { type: 'boolean', short: 'w' },
      option: { type: 'string', multiple: true },
      substitution: { type: 'string', multiple: true },
      name: { type: 'string' },
      'start-after': { type: 'string' },
      file: { type: 'string', short: 'f' },
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
    case 'status':
      if (rest.length > 1) throw new UsageError('usage: taskplane status [run] [-n namespace | -A] [-o table|json|yaml] [--watch]');
      await status(rest[0], { ...connection, namespace: values.namespace, allNamespaces: values['all-namespaces'], output: outputFormat(values.output), watch: values.watch });
      return 0;
    case 'run':
    case 'render': {
      if (rest.length !== 1) throw new UsageError(`usage: taskplane ${command} <config> [-n namespace] [--option name=value]...`);
      const flags = {
        ...connection,
        namespace: values.namespace,
        options: values.option,
        substitutions: values.substitution,
        name: values.name,
        startAfter: values['start-after'],
        file: values.file,
        output: outputFormat(values.output, command === 'render' ? 'yaml' : 'table'),
      };
      if (command === 'render' && flags.output === 'table') throw new UsageError('render prints manifests: use -o yaml or -o json');
      process.stdout.write(command === 'run' ? await runCommand(rest[0]!, flags) : await render(rest[0]!, flags));
      return 0;
    }
    case 'kill':
      if (rest.length !== 1) throw new UsageError('usage: taskplane kill <run> [-n namespace] [--at time]');
      process.stdout.write(`${await kill(rest[0]!, { ...connection, namespace: values.namespace, at: values.at })}\n`);
      return 0;
    case 'schedule': {
      const [action, config] = rest;
      if (rest.length !== 2 || (action !== 'pause' && action !== 'resume')) throw new UsageError('usage: taskplane schedule pause|resume <config> [-n namespace]');
      process.stdout.write(`${await pauseSchedule(config!, action === 'pause', { ...connection, namespace: values.namespace })}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"; run taskplane --help`);
  }
}

export async function run(argv: string[]): Promise<never> {
  try {
    process.exit(await main(argv));
  } catch (error) {
    const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`taskplane: ${describeError(error)}\n`);
    process.exit(usage ? 2 : 1);
  }
}
