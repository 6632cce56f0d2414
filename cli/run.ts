/**
 * `taskplane run <config>` creates a Deferred JobRun from a JobConfig in the cluster (the watcher
 * starts it); `taskplane render <config>` prints what such a run would create, without creating it.
 * Both build the run with the engine, exactly as `config.run(...)` does at synth.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { validateJobConfig } from '../engine/config.js';
import { formatFieldError, type FieldError } from '../engine/errors.js';
import { MAX_RUN_NAME_LENGTH } from '../engine/names.js';
import { renderFirstAttempts } from '../engine/render.js';
import { buildRun } from '../engine/run-object.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject, type OptionSpec } from '../engine/schema/index.js';
import type { KubeClient, KubeObject } from '../watcher/kube/client.js';
import type { ConnectionFlags } from './kube.js';
import { serialize, type OutputFormat } from './output.js';
import { UsageError } from './usage.js';

export interface RunFlags extends ConnectionFlags {
  readonly namespace?: string;
  /** `name=value` pairs. */
  readonly options?: readonly string[];
  readonly substitutions?: readonly string[];
  readonly name?: string;
  readonly startAfter?: string;
  /** --no-cache: the run's spec.skipCache. */
  readonly skipCache?: boolean;
  readonly output: OutputFormat;
  /** render: read the JobConfig from this YAML file instead of the cluster. */
  readonly file?: string;
}

/** Stands in for UIDs in `render`'s preview; the watcher renders with the real ones. */
const PREVIEW_UID = '00000000-0000-0000-0000-000000000000';

export async function run(configName: string, flags: RunFlags): Promise<string> {
  const { client, namespace, jobConfig } = await connect(flags);
  const config = await jobConfig(configName);
  const jobRun = prepareRun(config, flags, new Date());
  const created = await client.create<JobRunObject & KubeObject>(jobRun as unknown as KubeObject);
  if (flags.output !== 'table') return serialize(created, flags.output);
  return `jobrun ${namespace}/${created.metadata.name} created; the watcher starts it${flags.startAfter ? ` after ${flags.startAfter}` : ''} (follow it with: taskplane status ${created.metadata.name} -n ${namespace} --watch)\n`;
}

export async function render(configName: string, flags: RunFlags): Promise<string> {
  const config = flags.file ? configFromFile(flags.file, configName) : await configFromCluster(configName, flags);
  const jobRun = prepareRun(config, flags, new Date());
  const { tasks } = renderFirstAttempts(jobRun, { jobUid: PREVIEW_UID, jobConfigUid: PREVIEW_UID });
  const documents = [jobRun, ...tasks.map((t) => t.manifest)];
  return flags.output === 'json' ? serialize(documents, 'json') : documents.map((d) => serialize(d, 'yaml')).join('---\n');
}

async function configFromCluster(name: string, flags: RunFlags): Promise<JobConfigObject> {
  return (await connect(flags)).jobConfig(name);
}

/**
 * A client for the flags' cluster and namespace. The Kubernetes client is imported here, when a command
 * talks to a cluster: loading it takes longer than the rest of `render -f` (bench/README.md).
 */
async function connect(flags: RunFlags): Promise<{ client: KubeClient; namespace: string; jobConfig: (name: string) => Promise<JobConfigObject & KubeObject> }> {
  const [{ KubeClient }, { CLI_FIELD_MANAGER, contextNamespace, loadKubeConfig }, { getOrExplain }] = await Promise.all([
    import('../watcher/kube/client.js'),
    import('./kube.js'),
    import('./errors.js'),
  ]);
  const kc = loadKubeConfig(flags);
  const client = new KubeClient(kc, CLI_FIELD_MANAGER);
  const namespace = flags.namespace ?? contextNamespace(kc);
  return { client, namespace, jobConfig: (name) => getOrExplain<JobConfigObject & KubeObject>(client, GROUP_VERSION, 'JobConfig', namespace, name) };
}

function configFromFile(file: string, name: string): JobConfigObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const configs = parseAllDocuments(text).map((d) => d.toJS() as JobConfigObject | null).filter((o) => o?.kind === 'JobConfig' && o.apiVersion === GROUP_VERSION);
  const found = configs.find((c) => c!.metadata.name === name);
  if (!found) throw new UsageError(`${file} has no JobConfig "${name}"${configs.length ? ` (it has: ${configs.map((c) => c!.metadata.name).join(', ')})` : ''}`);
  return found;
}

/** The Deferred JobRun for `config` and the flags, checked the way synth checks a run. */
export function prepareRun(config: JobConfigObject, flags: RunFlags, now: Date): JobRunObject {
  const { name, namespace } = config.metadata;
  const configErrors = validateJobConfig(name, config.spec);
  if (configErrors.length) throw new UsageError(`JobConfig ${name} is invalid: ${describeAll(configErrors)}`);
  const runName = flags.name ?? `${name}-${now.toISOString().replace(/\D/g, '').slice(0, 14)}`;
  if (!flags.name && runName.length > MAX_RUN_NAME_LENGTH) {
    throw new UsageError(`the default run name ${runName} is longer than ${MAX_RUN_NAME_LENGTH} characters; pass --name`);
  }
  const startAfter = flags.startAfter === undefined ? undefined : new Date(flags.startAfter);
  if (startAfter && Number.isNaN(startAfter.getTime())) throw new UsageError(`--start-after ${flags.startAfter} is not a time; use RFC 3339, e.g. 2026-11-21T22:00:00Z`);
  const { run: jobRun, errors } = buildRun(
    { name, namespace, spec: config.spec },
    {
      name: runName,
      optionValues: parseOptionValues(flags.options ?? [], config.spec.options ?? []),
      substitutions: Object.fromEntries(parsePairs(flags.substitutions ?? [], '--substitution')),
      materialization: 'Deferred',
      ...(startAfter && { startAfter: startAfter.toISOString().replace(/\.000Z$/, 'Z') }),
      skipCache: flags.skipCache,
    },
  );
  // Render once with stand-in UIDs: an unknown ${...} is caught here, not later by the watcher.
  const problems = errors.length ? errors : renderFirstAttempts(jobRun, { jobUid: PREVIEW_UID, jobConfigUid: PREVIEW_UID }).errors;
  if (problems.length) throw new UsageError(`cannot run ${name}: ${describeAll(problems)}`);
  return jobRun;
}

const describeAll = (errors: readonly FieldError[]) => errors.map(formatFieldError).join('; ');

/** Entries, not assignments: a name such as `__proto__` is kept (and judged by the engine), never dropped. */
function parsePairs(pairs: readonly string[], flag: string): [string, string][] {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} ${pair}: expected name=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** Command-line text to the types the options take: booleans for Bool, comma-separated lists for Multi. */
function parseOptionValues(pairs: readonly string[], specs: readonly OptionSpec[]): Record<string, unknown> {
  const typeOf = new Map(specs.map((s) => [s.name, s.type]));
  const values: [string, unknown][] = [];
  for (const [name, text] of parsePairs(pairs, '--option')) {
    const type = typeOf.get(name);
    if (type === 'Bool') {
      const lowered = text.toLowerCase();
      if (!['true', 'false'].includes(lowered)) throw new UsageError(`--option ${name}=${text}: ${name} is a Bool option; use true or false`);
      values.push([name, lowered === 'true']);
    } else if (type === 'Multi') values.push([name, text === '' ? [] : text.split(',')]);
    else values.push([name, text]); // Unknown names go through so that the engine reports them with its suggestions.
  }
  return Object.fromEntries(values);
}
