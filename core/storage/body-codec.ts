/**
 * Resource bodies are stored as brotli-compressed JSON in a binary attribute: FHIR JSON
 * compresses 5-10x, which keeps items far below DynamoDB's 400 KB item limit and cuts the
 * capacity every read and write consumes (both are billed by item size).
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';

/** DynamoDB's item limit is 400 KB including attribute names; keep room for keys and metadata. */
export const MAX_STORED_BODY_BYTES = 400 * 1024 - 8 * 1024;

export function encodeBody(resource: Resource): Uint8Array {
  const json = Buffer.from(JSON.stringify(resource), 'utf8');
  const compressed = brotliCompressSync(json, {
    params: {
      // Quality 5 is ~10x faster than the default 11 for a few percent larger output.
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: json.length,
    },
  });
  if (compressed.length > MAX_STORED_BODY_BYTES) {
    throw FhirError.payloadTooLarge(
      `Resource is too large to store: ${compressed.length} bytes compressed (${json.length} bytes of JSON); the limit is ${MAX_STORED_BODY_BYTES} bytes compressed`,
    );
  }
  return compressed;
}

export function decodeBody(body: Uint8Array): Resource {
  return JSON.parse(brotliDecompressSync(body).toString('utf8')) as Resource;
}
