/** `taskplane watch --http-*`: a bad HTTP task setting stops the watcher before it connects, every one named. */
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { UsageError } from '../../cli/kube.js';

describe('taskplane watch --http-*', () => {
  it('names a bad pool size, egress entry and CA file at once, as a usage error', async () => {
    const run = main(['watch', '--http-concurrency=0', '--http-egress-hosts=*.svc,bad host', '--http-egress-cidrs=10.0.0.0/40', '--http-ca-file=/nonexistent/ca.pem']);
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(
      /--http-concurrency: got "0"; valid: a whole number of at least 1\n--http-egress-hosts\/--http-egress-cidrs: invalid egress policy: host "bad host".*CIDR "10\.0\.0\.0\/40".*\n--http-ca-file: cannot read "\/nonexistent\/ca\.pem"/s,
    );
  });
});
