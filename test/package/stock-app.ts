/**
 * A cdk8s app made the way `cdk8s init typescript-app` makes one: the template files of the cdk8s-cli
 * this repository pins, filled with the versions that cdk8s-cli fills in (its own cdk8s, cdk8s-plus-33
 * and constructs). `cdk8s init` itself is not run: its post-install hook also runs `cdk8s import`
 * (a download of Kubernetes' schema) and jest, which prove nothing about taskplane.
 *
 * The app's own dependencies are installed once into ~/.cache/taskplane/stock-apps/<kind>-<hash> (the
 * hash covers the rendered package.json and tsconfig.json, so a new template means a new install, and the
 * checkout, so worktrees testing at once do not share an app);
 * each test run then installs the freshly packed taskplane tarball into it.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export type AppKind = 'commonjs' | 'esm';

const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'node_modules/cdk8s-cli');
const template = path.join(cli, 'templates/typescript-app');

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command, resolving with its exit code and output (never rejecting on a non-zero exit). */
export function sh(file: string, args: readonly string[], options: ExecFileOptions & { cwd: string }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 << 20, ...options, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The versions `cdk8s init` writes into the template (cdk8s-cli's lib/cli/cmds/init.js, determineDeps). */
function templateVersions(): Record<string, string> {
  const fromCli = createRequire(path.join(cli, 'package.json'));
  const cliPackage = fromCli('./package.json') as { version: string; dependencies: Record<string, string> };
  return {
    cdk8s_core_version: (fromCli('cdk8s/package.json') as { version: string }).version,
    cdk8s_plus_version: (fromCli('cdk8s-plus-33/package.json') as { version: string }).version,
    constructs_version: cliPackage.dependencies.constructs!.replace('^', ''),
    cdk8s_cli_spec: `^${cliPackage.version}`,
  };
}

async function renderTemplateFile(name: string, base: string): Promise<string> {
  const values: Record<string, string> = { $base: base, ...templateVersions() };
  const text = await readFile(path.join(template, name), 'utf8');
  return text.replace(/\{\{ *(\$?\w+) *\}\}/g, (_whole, key: string) => {
    if (!(key in values)) throw new Error(`the cdk8s-cli template ${name} uses {{ ${key} }}, which this test does not know how to fill`);
    return values[key]!;
  });
}

/**
 * The app's files. CommonJS: the template as it is (ts-node, `lib: es2016`, `@types/node` ^14).
 * ESM: the same with what an ESM app changes: `"type": "module"`, tsx instead of ts-node, and
 * `module`/`moduleResolution` NodeNext.
 */
async function appFiles(kind: AppKind): Promise<Record<string, string>> {
  const base = `taskplane-stock-${kind}`;
  const packageJson = JSON.parse(await renderTemplateFile('package.json', base)) as {
    type?: string;
    devDependencies: Record<string, string>;
  };
  const tsconfig = await readFile(path.join(template, 'tsconfig.json'), 'utf8');
  const cdk8sYaml = await readFile(path.join(template, 'cdk8s.yaml'), 'utf8');
  if (kind === 'commonjs') return { 'package.json': JSON.stringify(packageJson, null, 2), 'tsconfig.json': tsconfig, 'cdk8s.yaml': cdk8sYaml };

  const tsxVersion = (JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.tsx!;
  const { 'ts-node': _tsNode, ...devDependencies } = packageJson.devDependencies;
  const esmPackage = { ...packageJson, type: 'module', devDependencies: { ...devDependencies, tsx: tsxVersion } };
  const esmTsconfig = JSON.parse(tsconfig) as { compilerOptions: Record<string, unknown> };
  Object.assign(esmTsconfig.compilerOptions, { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['es2022'] });
  return {
    'package.json': JSON.stringify(esmPackage, null, 2),
    'tsconfig.json': JSON.stringify(esmTsconfig, null, 2),
    'cdk8s.yaml': cdk8sYaml.replace('npx ts-node main.ts', 'npx tsx main.ts'),
  };
}

const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

function npmFailure(what: string, result: CommandResult): Error {
  return new Error(
    `${what} failed (exit ${result.code}). The stock-app tests install a cdk8s app's dependencies from the npm ` +
    `registry (https://registry.npmjs.org; check with \`npm ping\`, or set a mirror with \`npm config set registry\`), ` +
    `cached afterwards in ~/.npm and ~/.cache/taskplane/stock-apps.\n${result.stderr.trim()}`,
  );
}

/**
 * The app directory with its template dependencies installed (cached) and `tarballs` installed as
 * `name: tarball` (installed with --no-save, so the cached package.json stays the template's).
 */
export async function stockApp(kind: AppKind, tarballs: Record<string, string>): Promise<string> {
  const files = await appFiles(kind);
  // The checkout too: each run installs its own tarball into the app and clears its files, so two checkouts
  // (worktrees) testing at once must not share one (they did: one run's synth found the other's taskplane).
  const checkout = path.resolve(import.meta.dirname, '../..');
  const hash = createHash('sha256').update(files['package.json']!).update(files['tsconfig.json']!).update(process.version).update(checkout).digest('hex').slice(0, 12);
  const dir = path.join(homedir(), '.cache/taskplane/stock-apps', `${kind}-${hash}`);
  const ready = path.join(dir, '.taskplane-installed');
  if (!existsSync(ready)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    const install = await sh('npm', ['install', ...npmFlags], { cwd: dir });
    if (install.code !== 0) throw npmFailure(`npm install in the ${kind} stock app (${dir})`, install);
    await writeFile(ready, '');
  }
  for (const leftover of ['main.ts', 'typo.ts', 'two-copies.ts', 'dist']) await rm(path.join(dir, leftover), { recursive: true, force: true });
  const specs = Object.entries(tarballs).map(([name, tarball]) => `${name}@file:${tarball}`);
  const add = await sh('npm', ['install', '--no-save', ...npmFlags, ...specs], { cwd: dir });
  if (add.code !== 0) throw npmFailure(`npm install ${specs.join(' ')} in ${dir}`, add);
  return dir;
}
