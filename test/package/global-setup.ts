/**
 * vitest globalSetup of the `package` project: packs taskplane once (`npm pack` runs `prepack`, the
 * build), as a release would, and gives the tests the tarball's path with `inject('tarball')`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    tarball: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'taskplane-pack-'));
  const repo = path.resolve(import.meta.dirname, '../..');
  const { stdout } = await promisify(execFile)('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: repo, maxBuffer: 16 << 20 });
  const name = stdout.trim().split('\n').at(-1)!;
  project.provide('tarball', path.join(dir, name));
  return () => rm(dir, { recursive: true, force: true });
}
