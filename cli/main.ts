/**
 * The `taskplane` command. Exit codes: 0 success, 1 failure (API or cluster error), 2 usage error.
 *
 * Only this file, the usage texts and the suggestion helper load at start: each command's module (and
 * with it the Kubernetes client) is imported when that command runs, so `--help` and `--version`
 * start about as fast as Node itself.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { packageVersion } from '../engine/release.js';
import { didYouMean, suggest } from '../engine/suggest.js';
import { UsageError } from './usage.js';

interface Command {
  readonly summary: string;
  /** The command's usage line and its own flags. */
  readonly usage: string;
  /** Flags it takes besides the connection flags (long names). */
  readonly flags: readonly string[];
}

const CONNECTION_FLAGS = `flags (all cluster commands):
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)
  --context NAME         kubeconfig context
  -n, --namespace NS     namespace (default: the context's; watch: all namespaces)
`;

const COMMANDS: Readonly<Record<string, Command>> = {
  status: {
    summary: 'the schedules and runs of a namespace, or one run as a grid of indexes x attempts',
    usage: `usage: taskplane status [run] [-n NS | -A] [-o table|json|yaml] [-w]

  -A, --all-namespaces   runs of every namespace
  -w, --watch            redraw every second until interrupted
  -o, --output FORMAT    table (default), json or yaml
`,
    flags: ['all-namespaces', 'watch', 'output'],
  },
  run: {
    summary: 'create a Deferred JobRun from a JobConfig in the cluster (the watcher starts it)',
    usage: `usage: taskplane run <config> [-n NS] [--option NAME=VALUE]... [--name NAME] [--start-after TIME] [--no-cache]

  --option NAME=VALUE    an option value (repeatable); Bool: true/false, Multi: comma-separated
  --substitution K=V     a variable for \${K} (repeatable)
  --name NAME            the run's name (default <config>-<UTC timestamp>)
  --start-after TIME     start no earlier than this RFC 3339 time
  --no-cache             run every task even when the JobConfig's cache has its result
  -o, --output FORMAT    table (default), json or yaml
`,
    flags: ['option', 'substitution', 'name', 'start-after', 'no-cache', 'output'],
  },
  render: {
    summary: 'print what a run of a JobConfig would create, without creating anything',
    usage: `usage: taskplane render <config> [-n NS] [--option NAME=VALUE]... [-f FILE] [-o yaml|json]

  --option NAME=VALUE    an option value (repeatable); Bool: true/false, Multi: comma-separated
  --substitution K=V     a variable for \${K} (repeatable)
  --name NAME            the run's name (default <config>-<UTC timestamp>)
  -f, --file FILE        read the JobConfig from a YAML file (e.g. synth output) instead of the cluster
  -o, --output FORMAT    yaml (default) or json
`,
    flags: ['option', 'substitution', 'name', 'file', 'output'],
  },
  kill: {
    summary: 'kill a run: its unfinished tasks are stopped in place',
    usage: `usage: taskplane kill <run> [-n NS] [--at TIME]

  --at TIME              kill at this RFC 3339 time instead of now
`,
    flags: ['at'],
  },
  schedule: {
    summary: "pause or resume a JobConfig's schedule (an annotation the watcher reads, not a Git field)",
    usage: `usage: taskplane schedule pause|resume <config> [-n NS]

  pause                  no scheduled runs until resumed
  resume                 scheduled runs again, from now on (runs missed while paused are not created)
`,
    flags: [],
  },
  watch: {
    summary: 'run the watcher (JobRun status, retries, timeouts, kills, schedules)',
    usage: `usage: taskplane watch [-n NS] [flags]

  --metrics-address HOST:PORT   /metrics, /healthz, /readyz (default 0.0.0.0:8080)
  --leader-elect=false          run without leader election (one replica only)
  --lease-namespace NS          namespace of the leader Lease (default $POD_NAMESPACE or taskplane-system)
  --lease-name NAME             (default taskplane-watcher)
  --identity ID                 (default hostname-pid)
  --shards N                    split the runs into N shards by their JobConfig, one Lease each
                                (<lease-name>-shard-<i>); replicas share them out, each reconciling
                                only its shards' runs (default 1: one leader reconciles everything)
  --leader-elect-lease-duration D  a Lease not renewed this long is taken over (default 15s)
  --leader-elect-renew-deadline D  a holder that could not renew this long stops acting (default 10s)
  --leader-elect-retry-period D    how often Leases are renewed or tried (default 2s)
  --workers N                   concurrent reconciles of different runs (default 2)
  --log-level LEVEL             (default info)
  --task-resources LIST         kinds it may create as tasks, e.g. pods,jobs.batch,taskruns.tekton.dev
                                (default pods,jobs.batch,workflows.argoproj.io; WatcherInstall sets it)
  --http-concurrency N          HTTP task requests in flight at once (default 100)
  --http-egress-hosts LIST      hosts HTTP tasks may reach, names or *.suffix (default *.svc,*.svc.cluster.local)
  --http-egress-cidrs LIST      and CIDRs, e.g. 10.0.0.0/8 (default none); link-local is always refused
  --http-ca-file FILE           PEM CA certificates trusted besides Node's roots
`,
    flags: ['metrics-address', 'leader-elect', 'lease-namespace', 'lease-name', 'identity', 'shards', 'leader-elect-lease-duration', 'leader-elect-renew-deadline', 'leader-elect-retry-period', 'workers', 'log-level', 'task-resources', 'http-concurrency', 'http-egress-hosts', 'http-egress-cidrs', 'http-ca-file'],
  },
  synth: {
    summary: 'cdk8s synth that keeps the output directory when the app fails, and prints only the problems',
    usage: `usage: taskplane synth

Runs \`cdk8s synth\` (cdk8s.yaml's app) into a fresh directory next to cdk8s.yaml's output (default
dist/) and swaps it in only when synth succeeds: on a validation error the output keeps what it had,
and only the list of problems is printed (exit 2).
`,
    flags: [],
  },
  help: { summary: 'help for a command: taskplane help <command>', usage: 'usage: taskplane help [command]\n', flags: [] },
};

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'metrics-address': { type: 'string', default: '0.0.0.0:8080' },
  'leader-elect': { type: 'string', default: 'true' },
  'lease-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'taskplane-system' },
  'lease-name': { type: 'string', default: 'taskplane-watcher' },
  identity: { type: 'string' },
  shards: { type: 'string', default: '1' },
  'leader-elect-lease-duration': { type: 'string', default: '15s' },
  'leader-elect-renew-deadline': { type: 'string', default: '10s' },
  'leader-elect-retry-period': { type: 'string', default: '2s' },
  workers: { type: 'string', default: '2' },
  'log-level': { type: 'string', default: 'info' },
  'task-resources': { type: 'string' },
  'http-concurrency': { type: 'string' },
  'http-egress-hosts': { type: 'string' },
  'http-egress-cidrs': { type: 'string' },
  'http-ca-file': { type: 'string' },
  at: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  watch: { type: 'boolean', short: 'w' },
  option: { type: 'string', multiple: true },
  substitution: { type: 'string', multiple: true },
  name: { type: 'string' },
  'start-after': { type: 'string' },
  'no-cache': { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 3;
  const commands = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}${command.summary}`);
  return `usage: taskplane <command> [flags]

commands:
${commands.join('\n')}

${CONNECTION_FLAGS}
taskplane help <command> (or <command> --help) shows a command's own flags.
exit codes: 0 success, 1 the cluster failed or refused, 2 the command or its input is wrong.
`;
}

function commandUsage(name: string): string {
  const command = COMMANDS[name];
  if (!command) throw unknownCommand(name);
  return name === 'help' || name === 'synth' ? command.usage : `${command.usage}\n${CONNECTION_FLAGS}`;
}

function unknownCommand(name: string): UsageError {
  const hint = didYouMean(suggest(name, Object.keys(COMMANDS)));
  return new UsageError(`unknown command "${name}"${hint ? `; ${hint}` : ''} (taskplane --help lists them)`);
}

/** parseArgs' "Unknown option '--foo'" as one line with a did-you-mean among the long flag names. */
function unknownFlag(error: unknown): UsageError | undefined {
  const code = (error as { code?: string }).code;
  if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const flag = /'(-{1,2}[^'=]+)/.exec((error as Error).message)?.[1] ?? '';
  const hint = didYouMean(suggest(flag.replace(/^-+/, ''), Object.keys(OPTIONS)).map((name) => `--${name}`));
  return new UsageError(`unknown flag ${flag}${hint ? `; ${hint}` : ''}`);
}

/** The flags given on the command line that `command` does not take. */
function misplacedFlags(argv: readonly string[], command: Command): string[] {
  const own = new Set(['kubeconfig', 'context', 'namespace', 'help', ...command.flags]);
  const shortToLong = new Map<string, string>(
    Object.entries(OPTIONS).flatMap(([name, option]) => ('short' in option ? [[option.short, name] as [string, string]] : [])),
  );
  const given = argv.flatMap((arg) => {
    if (arg.startsWith('--')) return [arg.slice(2).split('=')[0]!];
    if (/^-[A-Za-z]/.test(arg)) return [...arg.slice(1)].map((c) => shortToLong.get(c) ?? c);
    return [];
  });
  return [...new Set(given.filter((flag) => flag in OPTIONS && !own.has(flag)))];
}

const version = (): string => `taskplane ${packageVersion()}\n`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw unknownFlag(error) ?? error;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(version());
    return 0;
  }
  if (!command) {
    process.stdout.write(usage());
    return values.help ? 0 : 2;
  }
  if (command === 'help') {
    if (rest.length > 1) throw new UsageError(COMMANDS.help!.usage.trim());
    process.stdout.write(rest[0] ? commandUsage(rest[0]) : usage());
    return 0;
  }
  const spec = COMMANDS[command];
  if (!spec) throw unknownCommand(command);
  if (values.help) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  const misplaced = misplacedFlags(argv, spec);
  if (misplaced.length > 0) {
    throw new UsageError(`${command} does not take ${misplaced.map((flag) => `--${flag}`).join(', ')}; see: taskplane help ${command}`);
  }
  const connection = { kubeconfig: values.kubeconfig, context: values.context };
  switch (command) {
    case 'watch': {
      const { watch } = await import('./watch.js');
      await watch({
        ...connection,
        namespace: values.namespace,
        metricsAddress: values['metrics-address'],
        leaderElect: values['leader-elect'],
        leaseNamespace: values['lease-namespace'],
        leaseName: values['lease-name'],
        identity: values.identity,
        shards: values.shards,
        leaseDuration: values['leader-elect-lease-duration'],
        renewDeadline: values['leader-elect-renew-deadline'],
        retryPeriod: values['leader-elect-retry-period'],
        workers: values.workers,
        logLevel: values['log-level'],
        taskResources: values['task-resources'],
        httpConcurrency: values['http-concurrency'],
        httpEgressHosts: values['http-egress-hosts'],
        httpEgressCidrs: values['http-egress-cidrs'],
        httpCaFile: values['http-ca-file'],
      });
      return 0;
    }
    case 'status': {
      if (rest.length > 1) throw new UsageError(spec.usage.split('\n')[0]!);
      const [{ status }, { outputFormat }] = await Promise.all([import('./status.js'), import('./output.js')]);
      await status(rest[0], { ...connection, namespace: values.namespace, allNamespaces: values['all-namespaces'], output: outputFormat(values.output), watch: values.watch });
      return 0;
    }
    case 'run':
    case 'render': {
      if (rest.length !== 1) throw new UsageError(spec.usage.split('\n')[0]!);
      const [commands, { outputFormat }] = await Promise.all([import('./run.js'), import('./output.js')]);
      const flags = {
        ...connection,
        namespace: values.namespace,
        options: values.option,
        substitutions: values.substitution,
        name: values.name,
        startAfter: values['start-after'],
        skipCache: values['no-cache'],
        file: values.file,
        output: outputFormat(values.output, command === 'render' ? 'yaml' : 'table'),
      };
      if (command === 'render' && flags.output === 'table') throw new UsageError('render prints manifests: use -o yaml or -o json');
      process.stdout.write(command === 'run' ? await commands.run(rest[0]!, flags) : await commands.render(rest[0]!, flags));
      return 0;
    }
    case 'kill': {
      if (rest.length !== 1) throw new UsageError(spec.usage.split('\n')[0]!);
      const { kill } = await import('./kill.js');
      process.stdout.write(`${await kill(rest[0]!, { ...connection, namespace: values.namespace, at: values.at })}\n`);
      return 0;
    }
    case 'schedule': {
      const [action, config] = rest;
      if (rest.length !== 2 || (action !== 'pause' && action !== 'resume')) throw new UsageError(spec.usage.split('\n')[0]!);
      const { pauseSchedule } = await import('./schedule.js');
      process.stdout.write(`${await pauseSchedule(config!, action === 'pause', { ...connection, namespace: values.namespace })}\n`);
      return 0;
    }
    case 'synth': {
      if (rest.length > 0) throw new UsageError(spec.usage.split('\n')[0]!);
      const { synth } = await import('./synth.js');
      return synth(process.cwd());
    }
    default:
      throw unknownCommand(command);
  }
}

export async function run(argv: string[]): Promise<never> {
  try {
    process.exit(await main(argv));
  } catch (error) {
    const usage = error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    const { describeError } = await import('./errors.js');
    process.stderr.write(`taskplane: ${describeError(error)}\n`);
    process.exit(usage ? 2 : 1);
  }
}
