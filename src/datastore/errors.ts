/** Typed datastore failures: callers branch on the class, users read the message. */
export class DatastoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class KeyExistsError extends DatastoreError {
  constructor(readonly key: string) {
    super(`resource already exists: ${key}`);
  }
}

export class KeyNotFoundError extends DatastoreError {
  constructor(readonly key: string) {
    super(`resource does not exist: ${key}`);
  }
}

export class RevisionConflictError extends DatastoreError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number | undefined,
  ) {
    super(
      `update conflict on ${key}: expected revision ${expected}, found ${actual === undefined ? 'no key' : actual}`,
    );
  }
}

/** The backend could not be reached or answered in time; the message names the endpoint and the cause. */
export class DatastoreUnavailableError extends DatastoreError {}
