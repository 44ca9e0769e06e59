// lite-build: the SHA-256 of some bytes, in hex, as the build lists files (hashlib's
// hexdigest). Shared by the service worker (every file it stores and serves) and the kernel's
// worker (a snapshot the offline cache kept).

export async function sha256Hex(bytes: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
