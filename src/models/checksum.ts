/**
 * The checksums a model source can publish: sha256 (Hugging Face LFS files,
 * SHA256SUMS, manifest.json) and git's blob sha1 (the only id the hub gives
 * for small files kept in git rather than LFS, such as tokenizer.json).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type Checksum = { kind: 'sha256'; hex: string } | { kind: 'git-sha1'; hex: string };

export function describeChecksum(c: Checksum): string {
  return `${c.kind} ${c.hex}`;
}

/** A running hash of a file's bytes for `checksum`'s kind; git's needs the file size up front. */
export function createHasher(checksum: Checksum, size: number): Hash {
  if (checksum.kind === 'sha256') return createHash('sha256');
  const hash = createHash('sha1');
  hash.update(`blob ${size}\0`);
  return hash;
}

/** Feeds the first `bytes` of `file` into `hash` (resuming a download re-reads what is already there). */
export async function hashFilePrefix(hash: Hash, file: string, bytes: number): Promise<void> {
  if (bytes <= 0) return;
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
}

export function normaliseHex(hex: string): string {
  return hex.replace(/^sha256:/i, '').trim().toLowerCase();
}
