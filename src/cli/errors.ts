/**
 * The operator CLI's failures, each with the exit status it ends in: 2 for bad usage (the
 * command's help follows), 1 for everything the broker or the system refused.
 */
export class CliError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad arguments: printed with the command's help, exit 2. */
export class UsageError extends CliError {
  override readonly exitCode = 2;
}

/** The management API answered with an error status; `reason` is its problem JSON's. */
export class ApiError extends CliError {
  readonly status: number;
  constructor(status: number, reason: string) {
    super(reason);
    this.status = status;
  }
}

/** Nothing answered at the management URL (refused, unknown host, reset, not HTTP). */
export class UnreachableError extends CliError {}
