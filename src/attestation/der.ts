/**
 * A minimal, strict DER reader: just enough ASN.1 to read what node:crypto's X509Certificate does not
 * expose — certificate extensions (SGX PCK, AMD VCEK), CRLs (revoked serials, update times) and the
 * signed parts of both. Definite lengths only; anything malformed throws DerError.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

export interface DerNode {
  tag: number;
  /** The whole element: tag, length and contents (what a signature over a TBS structure covers). */
  raw: Buffer;
  /** The contents only. */
  value: Buffer;
}

/** Reads one element at `offset`; returns it and the offset just past it. */
export function readElement(buffer: Buffer, offset = 0): { node: DerNode; next: number } {
  if (offset + 2 > buffer.length) throw new DerError('truncated element');
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used in these structures');
  let length = buffer[offset + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('indefinite or oversized length');
    if (offset + 2 + count > buffer.length) throw new DerError('truncated length');
    length = 0;
    for (let index = 0; index < count; index += 1) length = length * 256 + (buffer[offset + 2 + index] as number);
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new DerError('element runs past its container');
  return { node: { tag, raw: buffer.subarray(offset, end), value: buffer.subarray(offset + header, end) }, next: end };
}

/** Parses a buffer that must hold exactly one element. */
export function parseDer(buffer: Buffer): DerNode {
  const { node, next } = readElement(buffer);
  if (next !== buffer.length) throw new DerError('trailing bytes after the element');
  return node;
}

/** The elements inside a constructed element (SEQUENCE, SET, context tag). */
export function children(node: DerNode): DerNode[] {
  const result: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const { node: child, next } = readElement(node.value, offset);
    result.push(child);
    offset = next;
  }
  return result;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got ${node ? `0x${node.tag.toString(16)}` : 'nothing'}`);
  return node;
}

export function decodeOid(node: DerNode): string {
  expectTag(node, TAG.OID, 'object identifier');
  const bytes = node.value;
  if (bytes.length === 0) throw new DerError('empty object identifier');
  const first = bytes[0] as number;
  const parts = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let value = 0;
  for (let index = 1; index < bytes.length; index += 1) {
    const byte = bytes[index] as number;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** A non-negative INTEGER or ENUMERATED as a number (these structures only hold small ones). */
export function decodeSmallInteger(node: DerNode): number {
  if (node.tag !== TAG.INTEGER && node.tag !== TAG.ENUMERATED) throw new DerError('expected an integer');
  if (node.value.length === 0 || node.value.length > 6) throw new DerError('integer out of range');
  return node.value.readUIntBE(0, node.value.length);
}

/** An INTEGER as unsigned hex without leading zero bytes (how certificate serial numbers compare). */
export function integerHex(node: DerNode): string {
  expectTag(node, TAG.INTEGER, 'integer');
  let start = 0;
  while (start < node.value.length - 1 && node.value[start] === 0) start += 1;
  return node.value.subarray(start).toString('hex');
}

export function decodeTime(node: DerNode): Date {
  const text = node.value.toString('latin1');
  let match: RegExpExecArray | null;
  if (node.tag === TAG.UTC_TIME && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const year = Number(match[1]) + (Number(match[1]) >= 50 ? 1900 : 2000);
    return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
  }
  if (node.tag === TAG.GENERALIZED_TIME && (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
  }
  throw new DerError(`unsupported time ${JSON.stringify(text)}`);
}

/** The content bits of a BIT STRING with no unused bits (signatures, keys). */
export function bitStringBytes(node: DerNode): Buffer {
  expectTag(node, TAG.BIT_STRING, 'bit string');
  if (node.value[0] !== 0) throw new DerError('bit string with unused bits');
  return node.value.subarray(1);
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's contents (itself DER for every extension read here). */
  value: Buffer;
}

/** The extensions of a DER X.509 certificate, in order. */
export function certificateExtensions(certificateDer: Buffer): Extension[] {
  const tbs = children(parseDer(certificateDer))[0];
  if (!tbs) throw new DerError('certificate without tbsCertificate');
  const wrapper = children(tbs).find((node) => node.tag === 0xa3);
  if (!wrapper) return [];
  const list = expectTag(children(wrapper)[0], TAG.SEQUENCE, 'extensions');
  return children(list).map((extension) => {
    const parts = children(extension);
    const oid = decodeOid(parts[0] as DerNode);
    const critical = parts.length === 3 && parts[1]?.tag === TAG.BOOLEAN && parts[1].value[0] !== 0;
    const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, `extension ${oid}`).value;
    return { oid, critical, value };
  });
}
