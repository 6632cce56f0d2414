/**
 * What a command loads before it runs: the Kubernetes client takes longer to load than all of
 * `render -f` (bench/README.md), so modules on the path of commands that need no cluster must import it
 * only dynamically, in the functions that connect. Walks the static (non-type) imports of the sources.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');

/** Every package reachable from `entry` through static value imports, with the file that imports it. */
function staticPackages(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'([^']+)';/gm)) {
      const [, , typeOnly, specifier] = match;
      if (typeOnly || !specifier || specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) walk(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, file.slice(repo.length + 1));
      }
    }
  };
  walk(resolve(repo, entry));
  return packages;
}

describe('CLI start-up: the Kubernetes client is loaded only by commands that talk to a cluster', () => {
  it.each(['cli/main.ts', 'cli/run.ts', 'cli/output.ts', 'cli/usage.ts'])('%s (--help, --version, render -f) does not import it statically', (entry) => {
    expect(staticPackages(entry).get('@kubernetes/client-node')).toBeUndefined();
  });

  it('the walk sees it where it is imported (kill, status, watch)', () => {
    for (const entry of ['cli/kill.ts', 'cli/status.ts', 'cli/watch.ts']) expect(staticPackages(entry).has('@kubernetes/client-node'), entry).toBe(true);
  });
});
