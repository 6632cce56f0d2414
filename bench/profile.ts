/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): self time by function and by package, and total
 * (inclusive) time of the functions whose name matches a filter. How the synth findings in
 * bench/README.md were made:
 *
 *     node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/synth-case.ts taskplane 1000 30 /tmp/out
 *     npx tsx bench/profile.ts /tmp/prof/CPU.*.cpuprofile [name-regex]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile.ts <file.cpuprofile> [function-name-regex]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMs = new Map<number, number>();
profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
const totalMs = (profile.endTime - profile.startTime) / 1000;

const where = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const pkg = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].at(-1)?.[1] ?? (url.includes('/work/') ? url.replace(/.*\/main\//, '') : url || '(native)');
  return { pkg, label: `${n.callFrame.functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` };
};

const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const { pkg, label } = where(byId.get(id)!);
  add(byFunction, label, ms);
  add(byPackage, /node_modules/.test(byId.get(id)!.callFrame.url) ? pkg : pkg.split('/')[0]!, ms);
}
const top = (map: Map<string, number>, n: number) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');

console.log(`profile: ${totalMs.toFixed(0)} ms\n\nself time by package / folder:\n${top(byPackage, 15)}\n\nself time by function:\n${top(byFunction, 30)}`);

if (filter) {
  // Inclusive time: a frame's own samples plus its descendants', counted once per sample even under recursion.
  const re = new RegExp(filter);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (!re.test(node.callFrame.functionName)) continue;
      const { label } = where(node);
      if (!seen.has(label)) (seen.add(label), add(inclusive, label, ms));
    }
  }
  console.log(`\ninclusive time of functions matching /${filter}/:\n${top(inclusive, 30)}`);
}
