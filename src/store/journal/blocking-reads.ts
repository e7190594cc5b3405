import type { MessageLocation, StoredMessage } from '../store.js';
import type { Found, LoadHost } from './paged-loads.js';
import { enqueueBodyStart } from './record.js';
import type { RecordReader } from './record-reader.js';
import { JournalLocation } from './segment.js';

/*
 * The journal's blocking reads of one message record, through the read-ahead window: readBody,
 * and readPaged and isReadable for tools, tests and the journal benchmark (the core pages with
 * PagedLoads). Apart from JournalStore like PagedLoads: all they need is where a record is now
 * (the same LoadHost) and the reader.
 */

export class BlockingReads {
  private readonly host: LoadHost;
  private readonly reader: RecordReader;
  /** Where `find` puts the record; one for every read. */
  private readonly found: Found = { seg: undefined, offset: 0, size: 0 };

  constructor(host: LoadHost, reader: RecordReader) {
    this.host = host;
    this.reader = reader;
  }

  /** The body: the one in memory if there is one, else read back from the journal (a copy). */
  readBody(message: StoredMessage): Buffer {
    if (message.body !== undefined) return message.body;
    const loc = message.location;
    if (loc === undefined)
      throw new Error('readBody: the message was never journaled and has no body');
    const f = this.found;
    if (!this.host.find(loc, f)) throw notWritten('readBody', loc);
    const size = f.size;
    const rec = this.reader.enqueue(f.seg!, f.offset, size);
    const at = this.reader.at;
    return Buffer.from(rec.subarray(enqueueBodyStart(rec, at), at + size));
  }

  /**
   * True once the record at `location` has been written to its file (by the batch's writev,
   * fsync not needed), so readPaged can serve it; false while it is still in the batch being
   * gathered or written. Throws if no segment holds the record any more.
   */
  isReadable(location: MessageLocation): boolean {
    return this.host.find(location, this.found);
  }

  /**
   * Read a journaled message back: a fresh StoredMessage (body and properties are copies, not
   * views of the read-ahead window; `location` is a new object for the newest written copy of
   * the record) and the seq its record gives `queueId`. Sequential calls over consecutive
   * records are served from a read-ahead window (see RecordReader). Throws StoreCorruptError if
   * the bytes there fail their CRC, and an Error if the record is not written yet (check
   * isReadable) or does not name `queueId`.
   */
  readPaged(location: MessageLocation, queueId: number): { message: StoredMessage; seq: number } {
    const f = this.found;
    if (!this.host.find(location, f)) throw notWritten('readPaged', location);
    const seg = f.seg!;
    const offset = f.offset;
    const size = f.size;
    const rec = this.reader.enqueue(seg, offset, size);
    const at = this.reader.at;
    const decoder = this.host.decoder;
    const seq = decoder.seqOf(rec, at, queueId);
    if (seq < 0) {
      throw new Error(
        `readPaged: queue ${queueId} is not among the queues of the message record at ` +
          `${seg.path}:${offset}`,
      );
    }
    const message = decoder.decode(rec, at, size, new JournalLocation(seg.id, offset, size));
    return { message, seq };
  }
}

function notWritten(verb: string, l: MessageLocation): Error {
  return new Error(
    `${verb}: the record at ${l.segment}:${l.offset} is not written yet (wait for isReadable)`,
  );
}
