/** Base64 (standard alphabet, padding optional) to bytes, without atob's string detour per byte. */
const LOOKUP = new Uint8Array(256).fill(255);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
LOOKUP['-'.charCodeAt(0)] = 62; // base64url too
LOOKUP['_'.charCodeAt(0)] = 63;

export function base64ToBytes(s: string): Uint8Array {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--;
  // The result goes into an 8-byte aligned buffer so RawEvents can view it without a copy.
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const n = (val(s, i) << 18) | (val(s, i + 1) << 12) | (val(s, i + 2) << 6) | val(s, i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = len - i;
  if (rest === 2) {
    out[o++] = ((val(s, i) << 2) | (val(s, i + 1) >> 4)) & 255;
  } else if (rest === 3) {
    const n = (val(s, i) << 10) | (val(s, i + 1) << 4) | (val(s, i + 2) >> 2);
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  } else if (rest === 1) {
    throw new Error('invalid base64: stray character at the end');
  }
  return out;
}

function val(s: string, i: number): number {
  const v = LOOKUP[s.charCodeAt(i) & 255];
  if (v === 255 || s.charCodeAt(i) > 255) throw new Error(`invalid base64 character at ${i}`);
  return v;
}

/** Bytes to base64 (tests, and a host that wants the same code). */
export function bytesToBase64(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (b[i] << 16) | (b[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '=';
  }
  return out;
}
