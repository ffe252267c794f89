// A strict CBOR well-formedness check (RFC 8949 §3): where an item ends, refusing anything truncated or indefinite.
// Decoders used for WebAuthn are lax about declared lengths; this makes "decodes completely" mean what it says.

/** Deepest nesting accepted (COSE keys and attestation objects are a few levels deep). */
const MAX_DEPTH = 16;

/**
 * The offset just past the CBOR data item starting at `offset`. Throws `RangeError` when the item is truncated,
 * uses indefinite lengths (not allowed in CTAP2's canonical CBOR), or nests too deeply.
 */
export function cborItemEnd(bytes: Uint8Array, offset = 0, depth = 0): number {
  if (depth > MAX_DEPTH) throw new RangeError('CBOR nested too deeply');
  const initial = byteAt(bytes, offset);
  const major = initial >> 5;
  const info = initial & 0x1f;
  let position = offset + 1;
  let argument: number;
  if (info < 24) {
    argument = info;
  } else if (info <= 27) {
    const size = 1 << (info - 24); // 1, 2, 4 or 8 bytes
    if (position + size > bytes.length) throw new RangeError('CBOR argument truncated');
    argument = 0;
    for (let i = 0; i < size; i++) argument = argument * 256 + byteAt(bytes, position + i);
    position += size;
  } else {
    throw new RangeError('CBOR indefinite length or reserved value');
  }
  switch (major) {
    case 0: // unsigned integer
    case 1: // negative integer
    case 7: // simple value or float: the argument was all of it
      return position;
    case 2: // byte string
    case 3: // text string
      if (position + argument > bytes.length) throw new RangeError('CBOR string truncated');
      return position + argument;
    case 4: // array
      for (let i = 0; i < argument; i++) position = cborItemEnd(bytes, position, depth + 1);
      return position;
    case 5: // map: key, value pairs
      for (let i = 0; i < argument * 2; i++) position = cborItemEnd(bytes, position, depth + 1);
      return position;
    default: // 6: tag, then its item
      return cborItemEnd(bytes, position, depth + 1);
  }
}

function byteAt(bytes: Uint8Array, offset: number): number {
  const value = bytes[offset];
  if (value === undefined) throw new RangeError('CBOR truncated');
  return value;
}

/**
 * Authenticator data must be exactly its parts (WebAuthn §6.1): RP ID hash, flags, counter, then the attested
 * credential data (AAGUID, credential id, COSE key) when AT is set, then the extensions when ED is set; nothing more.
 */
export function authenticatorDataWellFormed(authData: Uint8Array): boolean {
  try {
    if (authData.length < 37) return false;
    const flags = byteAt(authData, 32);
    let position = 37;
    if (flags & 0x40) {
      position += 16;
      const idLength = byteAt(authData, position) * 256 + byteAt(authData, position + 1);
      position = cborItemEnd(authData, position + 2 + idLength);
    }
    if (flags & 0x80) position = cborItemEnd(authData, position);
    return position === authData.length;
  } catch {
    return false;
  }
}
