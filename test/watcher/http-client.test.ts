/**
 * The watcher's HTTP client against a loopback server: responses, timeouts, aborts, body caps,
 * redirects, the egress policy (after DNS, on every hop), TLS with an extra CA, HTTP/2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, HttpFailure, type OutgoingRequest } from '../../watcher/http-client.js';
import { EgressPolicy } from '../../watcher/http-egress.js';
import { selfSignedCertificate, startTestServer, type TestServer } from './http-server.js';

const LOOPBACK = new EgressPolicy({ hosts: [], cidrs: ['127.0.0.0/8'] });
let server: TestServer;
let client: HttpClient;

beforeAll(async () => {
  server = await startTestServer();
  client = new HttpClient({ egress: LOOPBACK });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

const outgoing = (url: string, more: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
  method: 'GET',
  url,
  headers: [],
  privateHeaders: new Set(['authorization']),
  http1Only: false,
  maxRedirects: 5,
  crossHostRedirects: false,
  maxResponseBytes: 1024 * 1024,
  timeoutMs: 10_000,
  ...more,
});

async function failure(promise: Promise<unknown>): Promise<HttpFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(HttpFailure);
  return error as HttpFailure;
}

const never = new AbortController().signal;

describe('HttpClient', () => {
  it('sends method, headers and body, and returns status, lower-case headers and the body text', async () => {
    const response = await client.send(outgoing(`${server.url}/echo?a=1`, { method: 'POST', headers: [['X-Test', 'yes'], ['Content-Type', 'text/plain']], body: 'hello' }), never);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toMatchObject({ method: 'POST', headers: { 'x-test': 'yes' }, query: '?a=1' });
    expect(server.requests.at(-1)!.body).toBe('hello');
  });

  it('a response that takes longer than the timeout fails with Timeout', async () => {
    const error = await failure(client.send(outgoing(`${server.url}/hang`, { timeoutMs: 300 }), never));
    expect(error.reason).toBe('Timeout');
  });

  it("the caller's abort (a kill) closes the connection: the server sees it go", async () => {
    const kill = new AbortController();
    const before = server.aborted.length;
    const sent = client.send(outgoing(`${server.url}/hang`), kill.signal);
    await waitFor(() => server.count('/hang') > 0 && server.aborted.length === before);
    kill.abort(new Error('killed'));
    await expect(sent).rejects.toThrow('killed');
    await waitFor(() => server.aborted.length > before);
  });

  it('a body over the cap fails with BodyTooLarge and is not read to the end', async () => {
    const error = await failure(client.send(outgoing(`${server.url}/huge`, { maxResponseBytes: 100_000 }), never));
    expect(error.reason).toBe('BodyTooLarge');
  });

  it('redirects: followed on the same host, a loop stops at the limit, another host is refused by default', async () => {
    expect((await client.send(outgoing(`${server.url}/redirect?to=/ok`), never)).status).toBe(200);
    expect((await failure(client.send(outgoing(`${server.url}/loop`, { maxRedirects: 3 }), never))).reason).toBe('TooManyRedirects');
    const other = `http://localhost:${new URL(server.url).port}/ok`;
    const refused = await failure(client.send(outgoing(`${server.url}/redirect?to=${encodeURIComponent(other)}`), never));
    expect(refused).toMatchObject({ reason: 'RedirectRefused', message: expect.stringContaining('another host') });
  });

  it('a redirect to the cloud metadata address is refused whatever the policy allows', async () => {
    const open = new HttpClient({ egress: new EgressPolicy({ hosts: [], cidrs: ['0.0.0.0/0'] }) });
    try {
      const error = await failure(open.send(outgoing(`${server.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data')}`, { crossHostRedirects: true }), never));
      expect(error).toMatchObject({ reason: 'EgressRefused', message: expect.stringContaining('169.254.169.254') });
    } finally {
      await open.close();
    }
  });

  it('egress is checked after DNS: a name that resolves outside the policy is refused before connecting', async () => {
    const tenOnly = new HttpClient({ egress: new EgressPolicy({ hosts: [], cidrs: ['10.0.0.0/8'] }) });
    try {
      const before = server.count('/ok');
      const error = await failure(tenOnly.send(outgoing(`http://localhost:${new URL(server.url).port}/ok`), never));
      expect(error).toMatchObject({ reason: 'EgressRefused', message: expect.stringMatching(/localhost \(.*\) is outside the watcher's egress policy/) });
      expect(server.count('/ok')).toBe(before);
    } finally {
      await tenOnly.close();
    }
  });

  it('Authorization is not forwarded to another host', async () => {
    const port = new URL(server.url).port;
    const open = new HttpClient({ egress: new EgressPolicy({ hosts: ['localhost'], cidrs: ['127.0.0.0/8'] }) });
    try {
      const to = `http://localhost:${port}/echo`;
      const response = await open.send(outgoing(`${server.url}/redirect?to=${encodeURIComponent(to)}`, { crossHostRedirects: true, headers: [['Authorization', 'Bearer s3cret'], ['X-Keep', '1']] }), never);
      expect(JSON.parse(response.body).headers).toMatchObject({ 'x-keep': '1' });
      expect(JSON.parse(response.body).headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('a refused connection is ConnectionFailed with its code', async () => {
    const closed = await startTestServer();
    const url = closed.url;
    await closed.close();
    expect(await failure(client.send(outgoing(`${url}/ok`), never))).toMatchObject({ reason: 'ConnectionFailed', message: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('TLS and HTTP/2', () => {
  const tls = selfSignedCertificate();

  it('an unknown CA fails with TLSError; with the CA given (as from a ConfigMap) the request succeeds', async () => {
    const secure = await startTestServer({ tls });
    const plain = new HttpClient({ egress: LOOPBACK });
    const trusting = new HttpClient({ egress: LOOPBACK, ca: tls.cert });
    try {
      expect((await failure(plain.send(outgoing(`${secure.url}/ok`), never))).reason).toBe('TLSError');
      expect((await trusting.send(outgoing(`${secure.url}/ok`), never)).status).toBe(200);
    } finally {
      await Promise.all([plain.close(), trusting.close()]);
      await secure.close();
    }
  });

  it('HTTP/2 where the server offers it (an h2-only server answers); httpVersion HTTP/1.1 does not negotiate it', async () => {
    const h2 = await startTestServer({ tls, http2Only: true });
    const trusting = new HttpClient({ egress: LOOPBACK, ca: tls.cert });
    try {
      const response = await trusting.send(outgoing(`${h2.url}/ok`), never);
      expect(response.status).toBe(200);
      expect(h2.requests.at(-1)!.httpVersion).toBe('2.0');
      await expect(trusting.send(outgoing(`${h2.url}/ok`, { http1Only: true, timeoutMs: 2000 }), never)).rejects.toBeInstanceOf(HttpFailure);
    } finally {
      await trusting.close();
      await h2.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('EgressPolicy', () => {
  const cluster = new EgressPolicy();

  it('allows cluster Services by default and nothing else', () => {
    expect(cluster.refusal('reports.billing.svc', ['10.96.0.12'])).toBeUndefined();
    expect(cluster.refusal('reports.billing.svc.cluster.local.', ['10.96.0.12'])).toBeUndefined();
    expect(cluster.refusal('example.com', ['93.184.216.34'])).toMatch(/outside the watcher's egress policy \(hosts \*\.svc, \*\.svc\.cluster\.local; CIDRs \(none\)\)/);
    expect(cluster.refusal('10.96.0.12', ['10.96.0.12'])).toMatch(/outside/);
  });

  it('refuses link-local, the metadata service and unspecified addresses whatever is allowed, IPv4-mapped forms included', () => {
    const open = new EgressPolicy({ hosts: ['*.svc'], cidrs: ['0.0.0.0/0', '::/0'] });
    for (const address of ['169.254.169.254', '169.254.1.1', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::']) {
      expect(open.refusal('metadata.svc', [address]), address).toMatch(/never reach/);
    }
    // One bad address among good ones is enough: the socket may pick any of them.
    expect(open.refusal('mixed.svc', ['10.0.0.1', '169.254.169.254'])).toMatch(/169\.254\.169\.254/);
  });

  it('a name is allowed by CIDR only when every address it resolves to is inside', () => {
    const tens = new EgressPolicy({ hosts: [], cidrs: ['10.0.0.0/8'] });
    expect(tens.refusal('db.internal', ['10.1.2.3'])).toBeUndefined();
    expect(tens.refusal('db.internal', ['10.1.2.3', '192.168.0.1'])).toMatch(/192\.168\.0\.1/);
    expect(tens.refusal('db.internal', [])).toMatch(/no address/);
  });

  it('names every malformed entry at once', () => {
    expect(() => new EgressPolicy({ hosts: ['ok.svc', 'bad host'], cidrs: ['10.0.0.0/33', 'nope'] })).toThrow(/host "bad host".*CIDR "10\.0\.0\.0\/33".*CIDR "nope"/);
  });
});
