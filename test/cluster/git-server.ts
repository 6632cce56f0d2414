/**
 * A Git repository served over HTTP on 127.0.0.1, for Flux's source-controller to clone: Git's own
 * `git http-backend` (CGI) behind a small Node server. Tests change the repository through a local
 * working clone (`commit`), pushed over the file system.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface GitServer {
  /** http://127.0.0.1:PORT/<name>.git */
  readonly url: string;
  readonly branch: string;
  /**
   * Makes the repository hold exactly these files (path relative to its root → content: whatever is not
   * listed is deleted, as when `dist/` is synthesized again), commits and pushes; returns the commit's SHA-1.
   */
  commit(files: Record<string, string>, message: string): string;
  /** `<branch>@sha1:<sha>` of a commit, as Flux reports it. */
  revision(sha: string): string;
  stop(): Promise<void>;
}

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('git is not installed; the Flux tests serve a Git repository with it. Install it with: apt-get install -y git');
    }
    throw new Error(`git ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
}

/** One CGI exchange with `git http-backend`: request body in, "Status:"/headers/blank line/body out. */
function serveCgi(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (end < 0) return;
    const sep = head[end] === 0x0d ? 4 : 2;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      const [name, value] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    headersSent = true;
    res.write(head.subarray(end + sep));
  });
  child.on('close', (code) => {
    if (!headersSent) {
      res.writeHead(500).end(`git http-backend exited ${code}: ${stderr}`);
      return;
    }
    res.end();
  });
}

export async function startGitServer(name = 'fleet'): Promise<GitServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskplane-git-'));
  const root = path.join(dir, 'repos');
  const work = path.join(dir, 'work');
  const branch = 'main';
  mkdirSync(root);
  git(root, ['init', '--quiet', '--bare', `--initial-branch=${branch}`, `${name}.git`]);
  git(dir, ['init', '--quiet', `--initial-branch=${branch}`, work]);
  for (const [k, v] of [['user.name', 'taskplane test'], ['user.email', 'test@taskplane.dev'], ['commit.gpgsign', 'false']]) {
    git(work, ['config', k!, v!]);
  }
  git(work, ['remote', 'add', 'origin', path.join(root, `${name}.git`)]);

  const server = http.createServer((req, res) => serveCgi(root, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/${name}.git`,
    branch,
    commit(files, message) {
      for (const entry of readdirSync(work)) if (entry !== '.git') rmSync(path.join(work, entry), { recursive: true, force: true });
      for (const [file, content] of Object.entries(files)) {
        const target = path.join(work, file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
      git(work, ['add', '--all']);
      git(work, ['commit', '--quiet', '--allow-empty', '-m', message]);
      git(work, ['push', '--quiet', 'origin', branch]);
      return git(work, ['rev-parse', 'HEAD']);
    },
    revision: (sha) => `${branch}@sha1:${sha}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
