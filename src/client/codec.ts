/** Turns message bodies into bytes and back; content-type says which way to decode. */
export interface Codec {
  encode(body: unknown): { content: Buffer; contentType: string };
  decode(content: Buffer, contentType: string | undefined): unknown;
}

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain';
const BINARY_TYPE = 'application/octet-stream';

/**
 * The default codec: a Buffer goes as is (application/octet-stream), a string as UTF-8
 * (text/plain), anything else as JSON (application/json). Decoding follows the message's
 * content-type, so messages from other producers arrive as Buffers unless they say JSON or text.
 */
export const jsonCodec: Codec = {
  encode(body) {
    if (Buffer.isBuffer(body)) return { content: body, contentType: BINARY_TYPE };
    if (typeof body === 'string') return { content: Buffer.from(body), contentType: TEXT_TYPE };
    const json = JSON.stringify(body);
    // JSON.stringify(undefined) and of a function give undefined: nothing to send.
    if (json === undefined) throw new TypeError(`cannot encode ${typeof body} as JSON`);
    return { content: Buffer.from(json), contentType: JSON_TYPE };
  },
  decode(content, contentType) {
    const type = contentType?.split(';')[0]?.trim().toLowerCase();
    if (type === JSON_TYPE || type?.endsWith('+json')) return JSON.parse(content.toString());
    if (type?.startsWith('text/')) return content.toString();
    return content;
  },
};
