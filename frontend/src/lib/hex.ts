/** base64 (as the API spells MD5s) → lowercase hex (as md5sum and most tools print them). */
export function base64ToHex(b64: string): string {
  try {
    return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch {
    return b64;
  }
}
