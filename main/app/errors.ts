/**
 * Errors crossing the API: every failure a request can have becomes an
 * ApiError (preload/api.ts) — a code the UI can act on and a sentence a
 * person can read. HostError carries a code from where it is thrown;
 * BadRequest is what the contract's argument checks throw
 * (preload/check.ts); toApiError maps what the core throws.
 *
 * Invariant: nothing but {code, message} leaves the host (no stacks, no
 * paths beyond what the message already says).
 */
import type { ApiError, ApiErrorCode } from '../../preload/api.js';
import { BadRequest } from '../../preload/check.js';
import { ExecError } from '../engine/executable.js';
import { AttachError } from '../engine/launch.js';
import { ControlError } from '../engine/target.js';

export class HostError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof HostError) return { code: e.code, message: e.message };
  if (e instanceof BadRequest) return { code: 'bad-request', message: e.message };
  if (e instanceof ExecError) return { code: e.problem, message: e.message };
  if (e instanceof AttachError) return { code: /busy/i.test(e.message) ? 'busy' : 'no-engine', message: e.message };
  if (e instanceof ControlError) return { code: 'control', message: e.message };
  if (e instanceof RangeError) return { code: 'bad-request', message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** True for a value that is an ApiError (what a transport receives). */
export function isApiError(v: unknown): v is ApiError {
  return (
    !!v &&
    typeof v === 'object' &&
    typeof (v as ApiError).code === 'string' &&
    typeof (v as ApiError).message === 'string'
  );
}
