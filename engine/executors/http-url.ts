/**
 * Structure-safe substitution of an HTTP task's URL. A variable's value lands only in the part of the
 * URL the template put it in, encoded for that part: it can never add a path segment, a query
 * parameter, a fragment, a port or credentials, nor change the scheme. In the host it must be a host
 * name (letters, digits, dots, dashes); in a path segment, query or fragment it is percent-encoded;
 * in the scheme or credentials it is refused.
 */
import type { FieldError } from '../errors.js';
import { substituteString, type VariableScope } from '../substitution.js';

/** Marks a variable's place in the template while its parts are found; no URL holds a NUL. */
const MARK = '\u0000';
const PLACEHOLDER = /\u0000(\d+)\u0000/g;
const HAS_PLACEHOLDER = /\u0000\d+\u0000/;
const HOST_VALUE = /^[A-Za-z0-9.-]+$/;
const PORT_VALUE = /^[0-9]+$/;

/** `http://` or `https://`, written by the template itself. */
export function urlSchemeError(url: string, field: string): FieldError | undefined {
  return /^https?:\/\//i.test(url) ? undefined : { field, message: 'must start with http:// or https:// (the scheme cannot come from a variable)', value: url, valid: 'e.g. http://reports.billing.svc/v1/run' };
}

export function substituteUrl(template: string, scope: VariableScope, field: string, errors: FieldError[]): string {
  if (template.includes(MARK)) {
    errors.push({ field, message: 'a URL cannot contain a NUL character', value: template });
    return template;
  }
  const names = Object.keys(scope.values);
  const marks: Record<string, string> = {};
  names.forEach((name, i) => Object.defineProperty(marks, name, { value: `${MARK}${i}${MARK}`, enumerable: true }));
  const skeleton = substituteString(template, { values: marks, ...(scope.unavailable && { unavailable: scope.unavailable }) }, field, errors);
  const schemeEnd = skeleton.indexOf('://');
  const scheme = schemeEnd < 0 ? '' : skeleton.slice(0, schemeEnd);
  if (!/^https?$/i.test(scheme)) {
    errors.push(urlSchemeError(template, field)!);
    return template;
  }
  const rest = skeleton.slice(schemeEnd + 3);
  const authorityEnd = firstOf(rest, '/?#', 0);
  const pathEnd = firstOf(rest, '?#', authorityEnd);
  const queryEnd = firstOf(rest, '#', pathEnd);
  const valueOf = (mark: string) => scope.values[names[Number(mark)]!]!;
  const problems: string[] = [];
  const authority = substituteAuthority(rest.slice(0, authorityEnd), valueOf, problems);
  const path = rest
    .slice(authorityEnd, pathEnd)
    .split('/')
    .map((segment) => {
      const out = segment.replace(PLACEHOLDER, (_, mark: string) => encodeURIComponent(valueOf(mark)));
      // `..` (or `%2e%2e`, which URL parsers read the same) would climb out of the template's path.
      if (out !== segment && ['.', '..'].includes(safeDecode(out))) problems.push(`a value makes the path segment "${out}", which would change the path`);
      return out;
    })
    .join('/');
  const encodeAll = (part: string) => part.replace(PLACEHOLDER, (_, mark: string) => encodeURIComponent(valueOf(mark)));
  const url = `${scheme}://${authority}${path}${encodeAll(rest.slice(pathEnd, queryEnd))}${encodeAll(rest.slice(queryEnd))}`;
  for (const message of problems) errors.push({ field, message, value: template });
  if (problems.length) return template;
  try {
    new URL(url);
  } catch {
    errors.push({ field, message: 'is not a valid URL after substitution', value: url });
  }
  return url;
}

/** `user@host:port`: values may form the host name or the port, never credentials. */
function substituteAuthority(authority: string, valueOf: (mark: string) => string, problems: string[]): string {
  const at = authority.lastIndexOf('@');
  if (at >= 0 && HAS_PLACEHOLDER.test(authority.slice(0, at))) problems.push('a variable cannot set the URL\'s credentials; send them in a header from a Secret');
  const hostPort = authority.slice(at + 1);
  const colon = hostPort.startsWith('[') ? hostPort.indexOf(':', hostPort.indexOf(']')) : hostPort.lastIndexOf(':');
  const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
  const port = colon < 0 ? undefined : hostPort.slice(colon + 1);
  const substituteChecked = (part: string, pattern: RegExp, what: string) =>
    part.replace(PLACEHOLDER, (_, mark: string) => {
      const value = valueOf(mark);
      if (!pattern.test(value)) problems.push(`a value in the URL's ${what} must be ${what === 'host' ? 'a host name (letters, digits, dots, dashes)' : 'digits'}; got ${JSON.stringify(value)}`);
      return value;
    });
  return `${authority.slice(0, at + 1)}${substituteChecked(host, HOST_VALUE, 'host')}${port === undefined ? '' : `:${substituteChecked(port, PORT_VALUE, 'port')}`}`;
}

function firstOf(text: string, characters: string, from: number): number {
  for (let i = from; i < text.length; i++) if (characters.includes(text[i]!)) return i;
  return text.length;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
