/**
 * A loopback HTTP(S) server for HTTP task tests: slow, failing, hanging, huge, redirecting, flaky
 * routes, and a record of every request (method, path, headers, body) and of every connection closed
 * before its response was sent (what a kill looks like from the server).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly httpVersion: string;
}

export interface TestServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Paths of requests whose connection closed before the server answered. */
  readonly aborted: string[];
  /** Requests seen per path. */
  count(path: string): number;
  /** The most `/slow` requests the server held at once. */
  readonly peak: { slow: number };
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 and localhost (openssl; fails loudly without it). */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tp-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`openssl is needed to make a test certificate (apt-get install openssl): ${(error as Error).message}`);
  }
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export async function startTestServer(options: { tls?: { key: string; cert: string }; http2Only?: boolean } = {}): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const aborted: string[] = [];
  const counts = new Map<string, number>();
  const peak = { slow: 0 };
  let slowNow = 0;
  const handler = (req: Request, res: Response) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      requests.push({ method: req.method ?? '', path: `${path}${url.search}`, headers: { ...req.headers }, body: Buffer.concat(chunks).toString(), httpVersion: req.httpVersion });
      let answered = false;
      res.on('finish', () => (answered = true));
      res.on('close', () => !answered && aborted.push(path));
      if (path === '/slow') {
        peak.slow = Math.max(peak.slow, ++slowNow);
        res.on('close', () => slowNow--);
      }
      route(path, url, req, res, counts.get(path)!);
    });
  };
  const server = options.http2Only
    ? createSecureServer({ ...options.tls!, allowHTTP1: false }, handler)
    : options.tls
      ? createHttpsServer(options.tls, handler)
      : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    aborted,
    count: (path) => counts.get(path) ?? 0,
    peak,
    close: () =>
      new Promise((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function json(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  (res as ServerResponse).writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function route(path: string, url: URL, req: Request, res: Response, seen: number): void {
  switch (path) {
    case '/ok':
      return json(res, 200, { ok: true, warmed: 3 });
    case '/echo':
      return json(res, 200, { method: req.method, headers: req.headers, query: url.search });
    case '/fail':
      return json(res, 500, { error: 'boom' });
    case '/flaky':
      // 500 on the first request, 200 after.
      return seen === 1 ? json(res, 500, { error: 'cold' }) : json(res, 200, { ok: true, attempt: seen });
    case '/slow':
      return void setTimeout(() => json(res, 200, { ok: true }), Number(url.searchParams.get('ms') ?? 500));
    case '/hang':
      return; // never answers
    case '/hang-once':
      // The first request hangs (its sender dies meanwhile); later ones succeed.
      return seen === 1 ? undefined : json(res, 200, { ok: true, attempt: seen });
    case '/huge': {
      (res as ServerResponse).writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const write = () => {
        while (sent < 8 * 1024 * 1024) {
          sent += chunk.length;
          if (!(res as ServerResponse).write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      return write();
    }
    case '/invalid-json':
      (res as ServerResponse).writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"ok": tru');
    case '/loop':
      (res as ServerResponse).writeHead(302, { location: '/loop' });
      return void res.end();
    case '/redirect':
      (res as ServerResponse).writeHead(url.searchParams.get('code') ? Number(url.searchParams.get('code')) : 302, { location: url.searchParams.get('to') ?? '/ok' });
      return void res.end();
    default:
      return json(res, 404, { error: 'no route' });
  }
}
