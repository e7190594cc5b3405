/**
 * A store's write or fsync failed, or it was used after close. Sticky: once a store reports
 * one, it refuses every later write. The core maps it to its own StoreFailedError (the store
 * must not import the core), matching on `code`.
 */
export class StoreFailure extends Error {
  readonly code = 'BATON_STORE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreFailure';
  }
}

/** A journal file is damaged in a way recovery must not paper over (fail-safe start). */
export class StoreCorruptError extends Error {
  readonly code = 'BATON_STORE_CORRUPT';
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super(
      `journal file ${file} is corrupt at offset ${offset}: ${reason}. ` +
        'Records after it would be lost, so recovery stops here: restore the file from a backup, ' +
        'or start with --recover-skip-corrupt to skip the damaged bytes (the messages in them are lost).',
    );
    this.name = 'StoreCorruptError';
    this.file = file;
    this.offset = offset;
  }
}
