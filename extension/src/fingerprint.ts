// A short fingerprint of a JSON value, the same in Node.js (at build time) and in the browser:
// lite-build's settings validator (src/settings.ts) uses a precomputed result only for the exact
// schema and settings it was computed from.

/** The value's JSON text: its length and two independent 32-bit hashes of it. */
export function fingerprint(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  let first = 0x811c9dc5; // FNV-1a
  let second = 0x9e3779b9 ^ text.length; // a multiply-xorshift hash
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
    second ^= second >>> 13;
  }
  return [text.length, first >>> 0, second >>> 0].map((n) => n.toString(36)).join('-');
}
