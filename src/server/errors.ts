// Every error phpasync's server raises has a code from this one table (tested in
// test/errors.test.ts), so logs and tests match on codes rather than on prose.
export const ERROR_CODES = {
  PHPASYNC_WORKER_START: 'the worker file could not start (it failed, or registered no handler)',
  PHPASYNC_WORKER_FAILED: 'the worker file kept failing after a restart (max_consecutive_failures reached)',
  PHPASYNC_NO_ASYNC_WORKER: 'the configuration has no async worker to send requests to',
  PHPASYNC_NOT_SUPPORTED: 'the configuration uses something phpasync does not support yet',
  PHPASYNC_ADDON: 'the native addon could not be loaded or refused the options',
  PHPASYNC_LISTEN: 'the address to serve on cannot be bound (in use, not local, or privileged)',
  PHPASYNC_TLS: 'a TLS certificate or key of an https site cannot be read, or they do not make a pair',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class PhpasyncError extends Error {
  override name = 'PhpasyncError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
