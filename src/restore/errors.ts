/** A restore that could not be done (exit code 1). Messages are for operators; never hold a secret. */
export class RestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

/** The command line is wrong (exit code 2), like a ConfigError but for arguments. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
