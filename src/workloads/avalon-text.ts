/**
 * How Avalon's C++ workloads see their input, for the ports here: items arrive sorted by index, and
 * text is a byte string that the C string functions cut at the first NUL and that strtok/split cut
 * into non-empty tokens. Reproducing these keeps TCF's outputs byte-identical to Avalon's.
 */
import type { WorkOrderInput } from '../workorder/worker.js';

/**
 * Avalon's enclave sorts inData by index (for the request hash) before the workload runs. The sort
 * here is stable, so items that share an index keep request order; std::sort left that unspecified.
 */
export function inIndexOrder(inputs: readonly WorkOrderInput[]): WorkOrderInput[] {
  return [...inputs].sort((a, b) => a.index - b.index);
}

/** What a C string function sees of a byte buffer. */
export function untilNul(bytes: Uint8Array): Buffer {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nul = buffer.indexOf(0);
  return nul === -1 ? buffer : buffer.subarray(0, nul);
}

/** Splits on one delimiter byte and drops empty pieces, as both strtok and Avalon's split() do. */
export function tokens(bytes: Buffer, delimiter: number): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (let at = bytes.indexOf(delimiter); at !== -1; at = bytes.indexOf(delimiter, start)) {
    if (at > start) pieces.push(bytes.subarray(start, at));
    start = at + 1;
  }
  if (start < bytes.length) pieces.push(bytes.subarray(start));
  return pieces;
}
