// Errors are checked by `code` (stable across worker boundaries), never by class.
import type { ExecutionContext } from 'ava';
import { isMedoError, type ErrorCode, type MedoError } from '../../lib/errors.js';

/** Asserts that `fn` throws a MedoError with `code`, and returns it for further checks. */
export function throwsCode(t: ExecutionContext, fn: () => unknown, code: ErrorCode, message?: string): MedoError {
  const err = t.throws(fn, { code }, message);
  t.true(isMedoError(err), `${message ?? 'error'} is a MedoError (has code and data)`);
  return err as unknown as MedoError;
}

/** Runs `fn` and returns its value, or the code of the MedoError it threw; anything else fails the test. */
export function resultOrCode<T>(t: ExecutionContext, fn: () => T, label: string): T | ErrorCode {
  try {
    return fn();
  } catch (e) {
    if (isMedoError(e)) return e.code;
    t.fail(`${label}: threw a non-MedoError: ${(e as Error)?.stack ?? String(e)}`);
    return 'ERR_USAGE';
  }
}
