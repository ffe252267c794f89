/**
 * A minimal CBOR (RFC 8949) encoder and decoder for test helpers.
 *
 * Covers what WebAuthn needs: unsigned/negative integers, byte strings, text strings, arrays, maps,
 * booleans, null/undefined and floats. Maps are encoded in CTAP2 canonical order (shorter encoded key
 * first, then bytewise), so COSE keys and attestation objects come out the way real authenticators
 * produce them. Indefinite lengths and tags are not supported (the decoder rejects them).
 */

export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborValue[]
  | Map<CborValue, CborValue>
  | { [key: string]: CborValue };

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

const MAX_UINT64 = (1n << 64n) - 1n;

class ByteWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  byte(b: number): void {
    this.push(Uint8Array.of(b));
  }

  result(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** Writes a major type with its argument, using the shortest form (preferred serialization). */
function writeHead(w: ByteWriter, major: number, arg: number | bigint): void {
  const m = major << 5;
  const n = typeof arg === 'bigint' ? arg : BigInt(arg);
  if (n < 0n || n > MAX_UINT64) throw new RangeError(`CBOR argument out of range: ${n}`);
  if (n < 24n) {
    w.byte(m | Number(n));
  } else if (n < 0x100n) {
    w.push(Uint8Array.of(m | 24, Number(n)));
  } else if (n < 0x10000n) {
    const b = new Uint8Array(3);
    b[0] = m | 25;
    new DataView(b.buffer).setUint16(1, Number(n));
    w.push(b);
  } else if (n < 0x100000000n) {
    const b = new Uint8Array(5);
    b[0] = m | 26;
    new DataView(b.buffer).setUint32(1, Number(n));
    w.push(b);
  } else {
    const b = new Uint8Array(9);
    b[0] = m | 27;
    new DataView(b.buffer).setBigUint64(1, n);
    w.push(b);
  }
}

function writeInteger(w: ByteWriter, v: bigint): void {
  if (v >= 0n) writeHead(w, 0, v);
  else writeHead(w, 1, -1n - v);
}

/** CTAP2 canonical key order: shorter encodings first, then lexicographic by bytes. */
function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function writeMap(w: ByteWriter, entries: [CborValue, CborValue][]): void {
  const encoded = entries.map(([k, v]) => ({ key: encodeCbor(k), value: v }));
  encoded.sort((a, b) => compareEncodedKeys(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (
      compareEncodedKeys((encoded[i - 1] as { key: Uint8Array }).key, (encoded[i] as { key: Uint8Array }).key) === 0
    ) {
      throw new TypeError('CBOR map has duplicate keys');
    }
  }
  writeHead(w, 5, encoded.length);
  for (const { key, value } of encoded) {
    w.push(key);
    writeValue(w, value);
  }
}

function writeValue(w: ByteWriter, value: CborValue): void {
  if (value === false) {
    w.byte(0xf4);
  } else if (value === true) {
    w.byte(0xf5);
  } else if (value === null) {
    w.byte(0xf6);
  } else if (value === undefined) {
    w.byte(0xf7);
  } else if (typeof value === 'bigint') {
    writeInteger(w, value);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      if (!Number.isSafeInteger(value)) throw new RangeError(`unsafe integer ${value}; pass a bigint`);
      writeInteger(w, BigInt(value));
    } else {
      const b = new Uint8Array(9);
      b[0] = 0xfb;
      new DataView(b.buffer).setFloat64(1, value);
      w.push(b);
    }
  } else if (typeof value === 'string') {
    const bytes = textEncoder.encode(value);
    writeHead(w, 3, bytes.length);
    w.push(bytes);
  } else if (value instanceof Uint8Array) {
    writeHead(w, 2, value.length);
    w.push(Uint8Array.from(value));
  } else if (Array.isArray(value)) {
    writeHead(w, 4, value.length);
    for (const item of value) writeValue(w, item);
  } else if (value instanceof Map) {
    writeMap(w, [...value.entries()]);
  } else if (typeof value === 'object') {
    writeMap(w, Object.entries(value));
  } else {
    throw new TypeError(`cannot CBOR-encode a ${typeof value}`);
  }
}

/** Encodes a value as CBOR. Plain objects become maps with text keys; use a `Map` for integer keys. */
export function encodeCbor(value: CborValue): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, value);
  return w.result();
}

class ByteReader {
  offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new RangeError('CBOR data is truncated');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  f16(): number {
    const h = this.u16();
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) return sign * frac * 2 ** -24;
    if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    return sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.offset);
    this.offset += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.offset);
    this.offset += 8;
    return v;
  }
}

/** Reads the argument of a head; returns a number when it is a safe integer, else a bigint. */
function readArgument(r: ByteReader, info: number): number | bigint {
  if (info < 24) return info;
  if (info === 24) return r.u8();
  if (info === 25) return r.u16();
  if (info === 26) return r.u32();
  if (info === 27) {
    const v = r.u64();
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (info === 31) throw new TypeError('indefinite-length CBOR items are not supported');
  throw new TypeError(`invalid CBOR additional info ${info}`);
}

function readLength(r: ByteReader, info: number): number {
  const n = readArgument(r, info);
  if (typeof n === 'bigint') throw new RangeError('CBOR length too large');
  return n;
}

function readValue(r: ByteReader, depth: number): CborValue {
  if (depth > 64) throw new RangeError('CBOR nesting too deep');
  const initial = r.u8();
  const major = initial >> 5;
  const info = initial & 0x1f;
  switch (major) {
    case 0:
      return readArgument(r, info);
    case 1: {
      const n = readArgument(r, info);
      if (typeof n === 'bigint') return -1n - n;
      const v = -1 - n;
      return Number.isSafeInteger(v) ? v : -1n - BigInt(n);
    }
    case 2:
      return r.take(readLength(r, info));
    case 3:
      return textDecoder.decode(r.take(readLength(r, info)));
    case 4: {
      const len = readLength(r, info);
      const out: CborValue[] = [];
      for (let i = 0; i < len; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case 5: {
      const len = readLength(r, info);
      const out = new Map<CborValue, CborValue>();
      for (let i = 0; i < len; i++) {
        const key = readValue(r, depth + 1);
        if (key !== null && typeof key === 'object') throw new TypeError('CBOR map keys must be scalars here');
        if (out.has(key)) throw new TypeError('CBOR map has duplicate keys');
        out.set(key, readValue(r, depth + 1));
      }
      return out;
    }
    case 6:
      throw new TypeError('CBOR tags are not supported');
    default:
      switch (info) {
        case 20:
          return false;
        case 21:
          return true;
        case 22:
          return null;
        case 23:
          return undefined;
        case 25:
          return r.f16();
        case 26:
          return r.f32();
        case 27:
          return r.f64();
        default:
          throw new TypeError(`unsupported CBOR simple value ${info}`);
      }
  }
}

/**
 * Decodes one CBOR item at the start of `bytes` and says how many bytes it used (WebAuthn's
 * authenticator data has a COSE key followed by more data). Maps decode to `Map`s.
 */
export function decodeCborPrefix(bytes: Uint8Array): { value: CborValue; length: number } {
  const r = new ByteReader(bytes);
  const value = readValue(r, 0);
  return { value, length: r.offset };
}

/** Decodes exactly one CBOR item; trailing bytes are an error. Maps decode to `Map`s. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const { value, length } = decodeCborPrefix(bytes);
  if (length !== bytes.length) throw new TypeError(`${bytes.length - length} trailing bytes after CBOR item`);
  return value;
}
