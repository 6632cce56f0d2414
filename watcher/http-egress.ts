/**
 * Where HTTP tasks may connect: the egress policy of the watcher (`--http-egress-hosts`,
 * `--http-egress-cidrs`). A connection is allowed when the host name matches an allowed host or
 * every address it resolves to is in an allowed CIDR; link-local addresses (the cloud metadata
 * service 169.254.169.254 among them) and unspecified addresses are refused whatever the policy says.
 * The check runs on the addresses the connection then uses (after DNS, so a name cannot be re-pointed
 * between check and connect), on every connection, redirects included.
 */
import { BlockList, isIP } from 'node:net';

/** Cluster-internal Services: `<service>.<namespace>.svc` and its fully qualified form. */
export const DEFAULT_EGRESS_HOSTS = ['*.svc', '*.svc.cluster.local'] as const;

const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addAddress('::', 'ipv6');
// AWS's IPv6 metadata address (not link-local).
NEVER.addAddress('fd00:ec2::254', 'ipv6');

export interface EgressPolicyOptions {
  /** Exact host names or `*.suffix` patterns. @default DEFAULT_EGRESS_HOSTS */
  readonly hosts?: readonly string[];
  /** CIDRs such as `10.0.0.0/8` or `fd00::/8`. @default - none */
  readonly cidrs?: readonly string[];
}

export class EgressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefused';
  }
}

export class EgressPolicy {
  private readonly hosts: readonly string[];
  private readonly cidrs = new BlockList();
  readonly description: string;

  /** Throws with every bad entry named when a host pattern or CIDR is malformed. */
  constructor(options: EgressPolicyOptions = {}) {
    this.hosts = (options.hosts ?? DEFAULT_EGRESS_HOSTS).map((h) => h.toLowerCase());
    const errors: string[] = [];
    for (const host of this.hosts) if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(host)) errors.push(`host "${host}": expected a host name or *.suffix`);
    for (const cidr of options.cidrs ?? []) {
      const [address, bits, extra] = cidr.split('/');
      const family = isIP(address ?? '');
      const prefix = Number(bits);
      if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) errors.push(`CIDR "${cidr}": expected e.g. 10.0.0.0/8 or fd00::/8`);
      else this.cidrs.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
    if (errors.length) throw new Error(`invalid egress policy: ${errors.join('; ')}`);
    this.description = `hosts ${this.hosts.join(', ') || '(none)'}; CIDRs ${(options.cidrs ?? []).join(', ') || '(none)'}`;
  }

  /** Why a connection to `hostname` at `addresses` is refused, or undefined when allowed. */
  refusal(hostname: string, resolved: readonly string[]): string | undefined {
    const addresses = resolved.map(unmapped);
    const name = hostname.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '');
    const never = addresses.find((a) => NEVER.check(a, family(a)));
    if (never) return `${hostname} resolves to ${never}, a link-local or unspecified address (such as the cloud metadata service), which HTTP tasks may never reach`;
    if (addresses.length === 0) return `${hostname} resolves to no address`;
    if (this.hostAllowed(name)) return undefined;
    const outside = addresses.find((a) => !this.cidrs.check(a, family(a)));
    if (outside === undefined) return undefined;
    return `${hostname} (${outside}) is outside the watcher's egress policy (${this.description})`;
  }

  private hostAllowed(name: string): boolean {
    return !isIP(name) && this.hosts.some((pattern) => (pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) : name === pattern));
  }
}

/** `::ffff:169.254.169.254` is 169.254.169.254. */
function unmapped(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return v4 ? v4[1]! : address;
}

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}
