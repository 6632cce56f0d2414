/**
 * "Did you mean" suggestions for misspelt names (option names, `${...}` variables, enum values).
 */

/**
 * The candidates closest to `name` by edit distance, best first, at most `limit` of them.
 *
 * Case is ignored when measuring (so `dryrun` finds `dryRun`), an exact match always comes first,
 * and a candidate is only offered when it is plausibly a typo: within a third of the name's length
 * (at least 1 edit), and not a replacement of every character. Ties go by code-unit order, so the
 * result does not depend on the candidates' order or the locale.
 */
export function suggest(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const wanted = name.toLowerCase();
  const maxDistance = Math.max(1, Math.floor(name.length / 3));
  const scored: { candidate: string; distance: number; exact: boolean }[] = [];
  for (const candidate of new Set(candidates)) {
    const distance = levenshtein(wanted, candidate.toLowerCase(), maxDistance);
    // Replacing every character is a guess, not a typo fix.
    const plausible = distance <= maxDistance && distance < Math.max(name.length, candidate.length);
    if (plausible) scored.push({ candidate, distance, exact: candidate === name });
  }
  scored.sort(
    (a, b) =>
      Number(b.exact) - Number(a.exact) ||
      a.distance - b.distance ||
      (a.candidate < b.candidate ? -1 : a.candidate > b.candidate ? 1 : 0),
  );
  return scored.slice(0, limit).map((s) => s.candidate);
}

/** `did you mean "a" or "b"?`, or undefined when there is nothing to suggest. */
export function didYouMean(suggestions: readonly string[]): string | undefined {
  if (suggestions.length === 0) return undefined;
  const quoted = suggestions.map((s) => JSON.stringify(s));
  const last = quoted.pop();
  return `did you mean ${quoted.length ? `${quoted.join(', ')} or ${last}` : last}?`;
}

/**
 * Levenshtein distance between `a` and `b`, by code unit. Returns `cap + 1` as soon as the
 * distance is known to exceed `cap`, so long unrelated candidates cost little.
 */
function levenshtein(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      const value = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > cap) return cap + 1;
    previous = current;
  }
  return previous[b.length];
}
