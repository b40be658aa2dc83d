/**
 * Reading a string flag from mri's result: mri gives `''` for a bare flag and an array for a flag
 * given twice, and both must be refused rather than read as "not given" or as "a,b".
 */
import { UsageError } from './errors.ts';

/** Every value of a repeatable flag; undefined when it is not given. */
export function flagValues(args: Record<string, unknown>, flag: string): string[] | undefined {
  const raw = args[flag];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).map((value) => {
    if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} needs a value.`);
    return value;
  });
}

/** The one value of a flag that may be given once; undefined when it is not given. */
export function singleFlagValue(args: Record<string, unknown>, flag: string): string | undefined {
  const given = flagValues(args, flag);
  if (given && given.length > 1) throw new UsageError(`--${flag} is given ${given.length} times; give it once.`);
  return given?.[0];
}
