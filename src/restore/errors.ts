/** A restore that could not be done (exit code 1). Messages are for operators; never hold a secret. */
export class RestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}
