#!/usr/bin/env node
// The installed package runs the compiled CLI (lib/, built by `npm run build`). A source checkout
// (cli/main.ts is there; the package ships no sources) runs the TypeScript through tsx, a
// devDependency, so working on the repository needs no build step.
import { existsSync } from 'node:fs';

const fromSources = existsSync(new URL('../cli/main.ts', import.meta.url)) && !process.env.TASKPLANE_COMPILED;
if (fromSources) (await import('tsx/esm/api')).register();
const { run } = await import(fromSources ? '../cli/main.ts' : '../lib/cli/main.js');
await run(process.argv.slice(2));
