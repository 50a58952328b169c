/**
 * `sam3-model manifest DIR`: writes manifest.json and SHA256SUMS for a model
 * folder, so that the folder can be served from any web server (an intranet
 * mirror, an air-gapped site) and fetched with `sam3-model fetch --url`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST, SUMS, type ManifestEntry } from './url-source';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeManifest(dir: string): Promise<ManifestEntry[]> {
  const abs = path.resolve(dir);
  const entries: ManifestEntry[] = [];
  for (const name of (await fs.readdir(abs)).sort()) {
    if (name === MANIFEST || name === SUMS || name.startsWith('.') || name.endsWith('.partial')) continue;
    const p = path.join(abs, name);
    const stat = await fs.stat(p);
    if (!stat.isFile()) continue;
    entries.push({ path: name, size: stat.size, sha256: await sha256(p) });
  }
  await fs.writeFile(path.join(abs, MANIFEST), JSON.stringify({ files: entries }, null, 2) + '\n');
  await fs.writeFile(path.join(abs, SUMS), entries.map((e) => `${e.sha256}  ${e.path}\n`).join(''));
  return entries;
}
