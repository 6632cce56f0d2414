import { describe, expectTypeOf, it } from 'vitest';
import type { OptionValue, OptionValues } from '../../engine/options/index.js';
import type { OptionSpec } from '../../engine/schema/option.js';

// Checked by the type checker (`tsc`); at run time these tests only have to exist.
describe('OptionValues', () => {
  const specs = [
    { name: 'env', type: 'Select', required: true, select: { values: ['dev', 'prod'] } },
    { name: 'tier', type: 'Select', required: true, select: { values: ['a', 'b'], default: 'a' } },
    { name: 'image', type: 'Select', select: { values: ['v1'], allowCustom: true } },
    { name: 'regions', type: 'Multi', multi: { values: ['eu', 'us'], delimiter: ',' } },
    { name: 'tags', type: 'Multi', required: true, multi: { values: ['x'], delimiter: ',', allowCustom: true } },
    { name: 'dryRun', type: 'Bool', bool: { default: true } },
    { name: 'ticket', type: 'String', required: true },
    { name: 'note', type: 'String', required: true, string: { default: '-' } },
    { name: 'from', type: 'Date' },
  ] as const;

  it('types each option from its spec; required options without a default must be given', () => {
    expectTypeOf<OptionValues<typeof specs>>().toEqualTypeOf<{
      env: 'dev' | 'prod';
      tags: readonly string[];
      ticket: string;
      tier?: 'a' | 'b';
      image?: string;
      regions?: readonly ('eu' | 'us')[];
      dryRun?: boolean;
      note?: string;
      from?: string | Date;
    }>();
  });

  it('rejects a value outside a Select, and unknown names', () => {
    const ok: OptionValues<typeof specs> = { env: 'prod', tags: [], ticket: 'OPS-1' };
    // @ts-expect-error 'qa' is not one of the values
    const badValue: OptionValues<typeof specs> = { env: 'qa', tags: [], ticket: 'OPS-1' };
    // @ts-expect-error unknown option name
    const badName: OptionValues<typeof specs> = { env: 'dev', tags: [], ticket: 'OPS-1', envirnoment: 'dev' };
    expectTypeOf([ok, badValue, badName]).not.toBeNever();
  });

  it('infers literal types through a const type parameter, as a construct would take specs', () => {
    function config<const S extends readonly OptionSpec[]>(_specs: S): (values: OptionValues<S>) => void {
      return () => {};
    }
    const run = config([
      { name: 'env', type: 'Select', required: true, select: { values: ['dev', 'prod'] } },
      { name: 'regions', type: 'Multi', multi: { values: ['eu'], delimiter: ',', default: ['eu'] } },
    ]);
    expectTypeOf(run).parameter(0).toEqualTypeOf<{ env: 'dev' | 'prod'; regions?: readonly 'eu'[] }>();
  });

  it('falls back to unknown for a spec typed only as OptionSpec', () => {
    expectTypeOf<OptionValue<OptionSpec>>().toBeUnknown();
  });
});
