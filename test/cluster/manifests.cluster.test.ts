import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, applyCrds, clients, createNamespace, describe as describeObject, mergePatch, parseYaml, type TestNamespace,
} from './client.js';
import { synthApp } from './synth.js';

// Every manifest that `apps/main.ts` synthesizes must be accepted by a real API server: server-side apply,
// dry run first, then for real. Third-party kinds (Argo Workflow, Tekton TaskRun) get minimal CRD fixtures.
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (f: string) => parseYaml(readFileSync(path.join(fixtures, f), 'utf8'));
const thirdPartyCrds = [...fixture('argo-workflow-crd.yaml'), ...fixture('tekton-taskrun-crd.yaml')];
const fieldManager = 'argocd-controller';
const c = clients();
const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';

function referencedServiceAccounts(objects: KubernetesObject[]): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'serviceAccountName' && typeof x === 'string' && !x.includes('${')) names.add(x);
        else walk(x);
      }
    }
  };
  walk(objects);
  const defined = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata?.name));
  return [...names].filter((n) => n !== 'default' && !defined.has(n)).sort();
}

let ns: TestNamespace;
beforeAll(async () => {
  ns = await createNamespace('manifests');
  await applyCrds(thirdPartyCrds, { fieldManager, c });
});
afterAll(async () => {
  await ns?.delete();
});

describe('third-party CRD fixtures', () => {
  it('accept a Workflow and a TaskRun', async () => {
    const applied = await apply(fixture('third-party-samples.yaml'), { fieldManager, namespace: ns.name, c });
    expect(applied.map((o) => `${o.kind} ${o.metadata?.namespace}`)).toEqual([`Workflow ${ns.name}`, `TaskRun ${ns.name}`]);
  });
});

describe('synthesized manifests (tsx apps/main.ts)', () => {
  let objects: KubernetesObject[] = [];
  beforeAll(async () => {
    objects = (await synthApp()).objects;
  });

  it('defines the taskplane.dev CRDs with a status subresource', () => {
    const crds = objects.filter(isCrd).map((o) => o.metadata?.name);
    expect(crds).toEqual(expect.arrayContaining(['jobconfigs.taskplane.dev', 'jobruns.taskplane.dev']));
  });

  it('are all accepted: CRDs established, then a server-side dry run, then a real apply', async () => {
    await applyCrds(objects.filter(isCrd), { fieldManager, c });
    // Namespaced objects go into this file's namespace, whatever the synth output says.
    const all = objects.filter((o) => !isCrd(o)).map(({ metadata: { namespace: _, ...meta } = {}, ...o }) => ({ ...o, metadata: meta }));
    // ServiceAccount admission needs a Pod's account to exist, even in a dry run: the ones the output
    // defines are applied for real first; the ones it only references are the user's, made here.
    const rest = all.filter((o) => o.kind !== 'ServiceAccount');
    expect(rest.length).toBeGreaterThan(0);
    await apply(all.filter((o) => o.kind === 'ServiceAccount'), { fieldManager, namespace: ns.name, c });
    for (const name of referencedServiceAccounts(all)) {
      await c.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name } } });
    }
    const dry = await apply(rest, { fieldManager, namespace: ns.name, dryRun: true, c });
    expect(dry.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(rest.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const o of dry) {
      // A dry run stores nothing.
      await expect(c.objects.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace! } }))
        .rejects.toMatchObject({ code: 404 });
    }
    const real = await apply(rest, { fieldManager, namespace: ns.name, c });
    for (const o of real) {
      expect(o.metadata?.uid, describeObject(o)).toBeTruthy();
      expect(o.metadata?.managedFields?.map((m) => m.manager), describeObject(o)).toContain(fieldManager);
    }
  });

  it('a JobRun status can be written through the status subresource only', async () => {
    const crd = objects.find((o) => isCrd(o) && o.metadata?.name === 'jobruns.taskplane.dev') as
      | (KubernetesObject & { spec: { versions: { name: string; storage: boolean; subresources?: { status?: object } }[] } })
      | undefined;
    expect(crd, 'jobruns.taskplane.dev CRD in the synth output').toBeDefined();
    await applyCrds([crd!], { fieldManager, c });
    const version = crd!.spec.versions.find((v) => v.storage)!;
    expect(version.subresources?.status).toBeDefined();
    const run = objects.find((o) => o.apiVersion === `taskplane.dev/${version.name}` && o.kind === 'JobRun');
    expect(run, 'a JobRun in the synth output').toBeDefined();
    const name = `status-${run!.metadata!.name}`.slice(0, 63);
    const [created] = await apply([{ ...run!, metadata: { ...run!.metadata, name, namespace: ns.name } }], { fieldManager, c });
    const ref = ['taskplane.dev', version.name, ns.name, 'jobruns', name] as const;
    const status = { phase: 'Running', observedGeneration: created!.metadata?.generation ?? 1 };
    const patched = await c.custom.patchNamespacedCustomObjectStatus(
      { group: ref[0], version: ref[1], namespace: ref[2], plural: ref[3], name: ref[4], body: { status }, fieldManager: 'taskplane-watcher' },
      mergePatch,
    );
    expect(patched.status).toMatchObject(status);
    // A status written through the main resource is dropped (that is what the subresource split means).
    await c.custom.patchNamespacedCustomObject(
      { group: ref[0], version: ref[1], namespace: ref[2], plural: ref[3], name: ref[4], body: { status: { phase: 'Bogus' } } },
      mergePatch,
    );
    const got = await c.custom.getNamespacedCustomObject({ group: ref[0], version: ref[1], namespace: ref[2], plural: ref[3], name: ref[4] });
    expect(got.status.phase).toBe('Running');
  });
});
