/** The watcher's HTTP endpoints: /metrics (Prometheus), /healthz (alive), /readyz (able to reconcile). */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeSources {
  readonly registry: Registry;
  /** Why the watcher cannot make progress now; empty when it can. */
  readonly readiness: () => readonly string[];
}

export function startProbeServer(port: number, host: string, sources: ProbeSources): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const problems = sources.readiness();
      return void res.writeHead(problems.length ? 503 : 200, { 'Content-Type': 'text/plain' }).end(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
    }
    if (path === '/metrics') {
      sources.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': sources.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
