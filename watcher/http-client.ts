/**
 * Sends one HTTP task's request (undici): connection reuse per origin, HTTP/2 where the server offers
 * it over TLS (ALPN), the egress policy on every connection (after DNS) and every redirect hop,
 * redirects limited and same-host by default, the body read up to a cap, a total timeout. Failures
 * are `HttpFailure`s with a CamelCase reason for the task's status; an abort by the caller's signal
 * (a kill, lost leadership) is rethrown as the signal's reason.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { HttpResponseData } from '../engine/executors/http-response.js';
import { EgressRefused, type EgressPolicy } from './http-egress.js';

export interface HttpClientOptions {
  readonly egress: EgressPolicy;
  /** PEM certificates trusted besides Node's bundled roots (and NODE_EXTRA_CA_CERTS). @default - none */
  readonly ca?: string;
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
}

export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  /** Lower-case names of headers never sent to another host (credentials, cookies). */
  readonly privateHeaders: ReadonlySet<string>;
  readonly body?: string;
  readonly http1Only: boolean;
  readonly maxRedirects: number;
  readonly crossHostRedirects: boolean;
  readonly maxResponseBytes: number;
  readonly timeoutMs: number;
}

export class HttpFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TLS_CODES = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

export class HttpClient {
  private readonly h2: Agent;
  private readonly h1: Agent;

  constructor(private readonly options: HttpClientOptions) {
    const egress = options.egress;
    // Checked on the addresses the socket then connects to: a name cannot be re-pointed in between.
    const lookup = (hostname: string, opts: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
      dnsLookup(hostname, { all: true, family: opts.family ?? 0 }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        const refusal = egress.refusal(hostname, addresses.map((a) => a.address));
        if (refusal) return callback(new EgressRefused(refusal));
        if (opts.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    const connect = {
      timeout: options.connectTimeoutMs ?? 10_000,
      lookup,
      ...(options.ca && { ca: [...rootCertificates, options.ca] }),
    } as Agent.Options['connect'];
    this.h2 = new Agent({ allowH2: true, connect });
    this.h1 = new Agent({ connect });
  }

  async send(outgoing: OutgoingRequest, signal: AbortSignal): Promise<HttpResponseData> {
    const timeout = AbortSignal.timeout(outgoing.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    try {
      return await this.follow(outgoing, combined);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) throw new HttpFailure('Timeout', `no complete response within ${outgoing.timeoutMs / 1000}s`);
      throw toFailure(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.h2.close(), this.h1.close()]);
  }

  private async follow(outgoing: OutgoingRequest, signal: AbortSignal): Promise<HttpResponseData> {
    const origin = new URL(outgoing.url);
    let url = origin;
    let { method, body } = outgoing;
    let headers = outgoing.headers;
    for (let hop = 0; ; hop++) {
      this.checkLiteral(url);
      const response = await request(url, {
        dispatcher: outgoing.http1Only ? this.h1 : this.h2,
        method: method as Dispatcher.HttpMethod,
        headers: headers.flat() as string[],
        ...(body !== undefined && { body }),
        signal,
        headersTimeout: outgoing.timeoutMs,
        bodyTimeout: outgoing.timeoutMs,
      });
      const location = response.headers.location;
      if (!REDIRECTS.has(response.statusCode) || typeof location !== 'string') return { status: response.statusCode, headers: flatHeaders(response.headers), body: await readBody(response, outgoing.maxResponseBytes) };
      await response.body.dump();
      if (hop >= outgoing.maxRedirects) throw new HttpFailure('TooManyRedirects', `more than ${outgoing.maxRedirects} redirects (last to ${location})`);
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpFailure('RedirectRefused', `redirect to a ${next.protocol} URL`);
      if (url.protocol === 'https:' && next.protocol === 'http:') throw new HttpFailure('RedirectRefused', `redirect from https to http (${next.origin})`);
      if (next.host !== url.host) {
        if (!outgoing.crossHostRedirects) throw new HttpFailure('RedirectRefused', `redirect from ${url.host} to another host, ${next.host} (set crossHostRedirects to follow it)`);
        // Credentials and cookies stay with the host they were meant for (as fetch drops Authorization).
        headers = headers.filter(([name]) => !outgoing.privateHeaders.has(name.toLowerCase()));
      }
      // 303, and 301/302 after a POST, continue as a GET without a body (what browsers and fetch do).
      if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = headers.filter(([name]) => name.toLowerCase() !== 'content-type');
      }
      url = next;
    }
  }

  /** An address in the URL itself is never looked up: it is checked here. */
  private checkLiteral(url: URL): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!isIP(host)) return;
    const refusal = this.options.egress.refusal(host, [host]);
    if (refusal) throw new EgressRefused(refusal);
  }
}

async function readBody(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length']);
  if (declared > maxBytes) {
    response.body.destroy();
    throw new HttpFailure('BodyTooLarge', `the response body is ${declared} bytes; the limit is ${maxBytes} (maxResponseBytes)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.body.destroy();
      throw new HttpFailure('BodyTooLarge', `the response body exceeds the limit of ${maxBytes} bytes (maxResponseBytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function flatHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** The failure's reason and a message with its code; no request detail (headers may hold secrets). */
function toFailure(error: unknown): HttpFailure {
  if (error instanceof HttpFailure) return error;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof EgressRefused) return new HttpFailure('EgressRefused', e.message);
  }
  const err = error as Error & { code?: string; cause?: Error & { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  const message = err.cause?.message && err.cause.message !== err.message ? `${err.message}: ${err.cause.message}` : err.message;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new HttpFailure('ConnectTimeout', message);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new HttpFailure('Timeout', message);
  if (TLS_CODES.test(code)) return new HttpFailure('TLSError', `${code}: ${message}`);
  return new HttpFailure('ConnectionFailed', code ? `${code}: ${message}` : message);
}
