// Small validators for untrusted JSON (SILO.json, .treeptr, metadata sidecars): each failure names the
// file and the field.
import { MedoError, type ErrorCode } from '../errors.js';

export class JsonChecker {
  constructor(readonly file: string, private readonly code: ErrorCode = 'ERR_SILO_CORRUPT') {}

  fail(field: string, why: string): never {
    throw new MedoError(this.code, `${this.file}: ${field === '' ? '' : `"${field}" `}${why}`, { path: this.file, field });
  }

  parse(text: string): Record<string, unknown> {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return this.fail('', `is not valid JSON (${(e as Error).message})`);
    }
    return this.object('', v);
  }

  object(field: string, v: unknown): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Record<string, unknown>;
  }

  string(field: string, v: unknown): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v as string;
  }

  optionalString(field: string, v: unknown): string | undefined {
    return v === undefined ? undefined : this.string(field, v);
  }

  count(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, 'must be a whole number >= 0');
    return v as number;
  }

  matching(field: string, v: unknown, re: RegExp, what: string): string {
    const s = this.string(field, v);
    if (!re.test(s)) this.fail(field, `must be ${what}`);
    return s;
  }
}
