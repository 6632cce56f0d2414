/** A mistake in how the command was called or configured: one line, exit code 2. */
export class UsageError extends Error {
  public override readonly name = 'UsageError';
}
