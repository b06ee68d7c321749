/** One frame of the engine's multiplexed exec stream: type byte, 3 zero bytes, big-endian length, payload. */
export function frame(type: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
