/**
 * `taskplane synth`: `cdk8s synth` made safe for a GitOps checkout. cdk8s synth empties its output
 * directory before the app runs, so an app that fails validation leaves nothing behind; and the
 * problem list comes wrapped in a source excerpt and a stack trace. Here cdk8s synth writes into a
 * fresh sibling of the output directory, which replaces the output only when synth succeeds.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from './usage.js';

const VALIDATION_HEADER = 'Validation failed with the following errors:';

/** Runs synth for the cdk8s app in `dir`; returns the exit code (0, 1 the app failed, 2 validation failed). */
export async function synth(dir: string): Promise<number> {
  const configFile = path.join(dir, 'cdk8s.yaml');
  if (!existsSync(configFile)) throw new UsageError(`no cdk8s.yaml in ${dir}; run taskplane synth where cdk8s.yaml is`);
  const config = (parse(readFileSync(configFile, 'utf8')) ?? {}) as { output?: string };
  const output = path.resolve(dir, config.output ?? 'dist');
  const staging = `${output}.taskplane-synth-${process.pid}`;
  const previous = `${output}.taskplane-previous-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const { code, text } = await run('cdk8s', ['synth', '--no-check-upgrade', '--output', staging], dir);
    if (code !== 0) {
      const problems = validationProblems(text);
      if (problems) {
        process.stderr.write(`${problems.join('\n')}\n${path.relative(dir, output) || '.'}/ was left as it was.\n`);
        return 2;
      }
      process.stderr.write(text);
      return 1;
    }
    if (existsSync(output)) renameSync(output, previous);
    renameSync(staging, output);
    rmSync(previous, { recursive: true, force: true });
    const files = readdirSync(output, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => `  - ${path.relative(dir, path.join(entry.parentPath, entry.name))}`)
      .sort();
    process.stdout.write(`Synthesized ${files.length} files:\n${files.join('\n')}\n`);
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The header and its `  [path] problem` lines, from output that may also hold an excerpt and a stack. */
export function validationProblems(text: string): string[] | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.endsWith(VALIDATION_HEADER));
  if (start < 0) return undefined;
  const problems = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  [')) break;
    problems.push(line);
  }
  return [VALIDATION_HEADER, ...problems];
}

/** Runs `command` as `npm run` would: found in node_modules/.bin of `cwd` or a parent, then on PATH. */
function run(command: string, args: readonly string[], cwd: string): Promise<{ code: number; text: string }> {
  const bins = [];
  for (let d = cwd; ; d = path.dirname(d)) {
    bins.push(path.join(d, 'node_modules', '.bin'));
    if (path.dirname(d) === d) break;
  }
  const PATH = [...bins, process.env.PATH].join(path.delimiter);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new UsageError(`${command} is not installed in this app; install cdk8s-cli with: npm install --save-dev cdk8s-cli`) : error),
    );
    child.once('close', (code) => resolve({ code: code ?? 1, text }));
  });
}
