/** Runs the real app synth (`tsx apps/main.ts`) into a temp dir and returns every object it wrote. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseYaml } from './client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Synthesized {
  /** YAML files written, relative to the output dir. */
  files: string[];
  objects: KubernetesObject[];
}

function yamlFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) return yamlFiles(dir, p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  }).sort();
}

export async function synthApp(): Promise<Synthesized> {
  const main = path.join(root, 'apps', 'main.ts');
  if (!existsSync(main)) throw new Error(`${main} does not exist: the cluster tests need the app that synthesizes the manifests`);
  const out = mkdtempSync(path.join(tmpdir(), 'taskplane-cluster-synth-'));
  try {
    await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'tsx'), [main], {
      cwd: root,
      env: { ...process.env, CDK8S_OUTDIR: out },
      timeout: 120_000,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`tsx apps/main.ts failed: ${err.stderr || err.message}`);
    });
    const files = yamlFiles(out);
    if (files.length === 0) throw new Error(`tsx apps/main.ts wrote no *.yaml under CDK8S_OUTDIR=${out}`);
    return { files, objects: files.flatMap((f) => parseYaml(readFileSync(path.join(out, f), 'utf8'))) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
