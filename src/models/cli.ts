/**
 * The `sam3-model` command: fetch, verify, info and manifest for SAM 3 model
 * folders. Exit status 0 when all is well, 1 when a problem was found or a
 * download failed, 2 for a command line it does not understand.
 */
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fetchModel } from './fetch';
import { formatInfo, formatVerify } from './format';
import { HubSource, isRepoId } from './hub-source';
import { writeManifest } from './manifest';
import { createProgress, formatBytes, type ProgressStream } from './progress';
import { variantLabel } from './report';
import { FetchError, type ModelSource } from './source';
import { UrlSource } from './url-source';
import { ReleaseSource, RELEASE_API_ENV } from './release-source';
import { locateModelDir } from './where';
import { preferredVariant, type Device } from '../engine';
import { verifyModelFolder } from './verify';

export const USAGE = `usage:
  sam3-model fetch --accept-license [--variant V] [--device cpu|gpu] [--dest DIR] [--force]
  sam3-model fetch <owner/name> [--revision main] [--subfolder PATH] [--variant V] [--device cpu|gpu] [--dest DIR] [--force]
  sam3-model fetch --url URL [--variant V] [--device cpu|gpu] [--dest DIR] [--force]
  sam3-model verify [DIR] [--variant V] [--load] [--json]
  sam3-model info [DIR] [--variant V] [--json]
  sam3-model manifest DIR

fetch with no source takes SAM 3 from the usls project's public GitHub release (no account needed;
\$${RELEASE_API_ENV} overrides the API address). The weights are Meta's, under the SAM License:
--accept-license (or a yes at a terminal) accepts it.
DIR defaults to the folder the Node-RED that loads the model looks in: $SAM3_MODEL_DIR; inside this
project's checkout, .node-red-user/models/sam3 (what \`npm start\` uses); inside a Node-RED user
directory, or run from a copy installed in one, <userDir>/models/sam3; else ~/.node-red/models/sam3.
V is a precision variant: fp32 (the unsuffixed files), fp16, q8, q4f16, ...; blank: q8 (else fp32)
for --device cpu (the default), fp16 for gpu.
fetch reads a Hugging Face token from HF_TOKEN (gated repos) and the hub address from HF_ENDPOINT.
verify --load also loads each graph in onnxruntime (needs as much memory as the model).
See models/README.md in @sam3-redact/node-red-sam3-redact.`;

const HELP = 'How to get a SAM 3 model: models/README.md in @sam3-redact/node-red-sam3-redact, or `npx --no-install sam3-model --help`.';

export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A yes/no question to a person at a terminal; absent when nobody can answer. */
  ask?: (question: string) => Promise<boolean>;
}

class UsageError extends Error {
  readonly code = 'USAGE';
}

interface Parsed {
  command: string;
  positional: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

const VALUE_OPTIONS: Record<string, string[]> = {
  fetch: ['dest', 'variant', 'revision', 'url', 'subfolder', 'device'],
  verify: ['variant'],
  info: ['variant'],
  manifest: [],
};
const FLAG_OPTIONS: Record<string, string[]> = { fetch: ['force', 'accept-license'], verify: ['load', 'json'], info: ['json'], manifest: [] };

export const SAM_LICENSE_URL = 'https://github.com/facebookresearch/sam3/blob/main/LICENSE';

/** The command line, by node:util's parseArgs with each command's own options; anything else is a usage error. */
function parse(argv: string[]): Parsed {
  const [command = '', ...rest] = argv;
  if (!(command in VALUE_OPTIONS)) throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of VALUE_OPTIONS[command]) options[name] = { type: 'string' };
  for (const name of FLAG_OPTIONS[command]) options[name] = { type: 'boolean' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const name = /'(--[\w-]+)/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`'${command}' has no option ${name ?? e.message}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(name ? `${name} ${VALUE_OPTIONS[command].includes(name.slice(2)) ? 'needs a value' : 'takes no value'}` : e.message);
    throw new UsageError(e.message);
  }
  if (parsed.positionals.length > 1) throw new UsageError(`unexpected argument '${parsed.positionals[1]}'`);
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string') values.set(k, v);
    else if (v === true) flags.add(k);
  }
  return { command, positional: parsed.positionals, values, flags };
}

/** The folder named, or the one the Node-RED that loads the model looks in (said on stderr, with why). */
function folderOf(p: Parsed, io: CliIo): string {
  const given = p.positional[0];
  if (given) return path.resolve(io.cwd, given);
  const where = locateModelDir(io.cwd, io.env);
  io.stderr.write(`model folder: ${where.dir} (${where.why})\n`);
  return where.dir;
}

function deviceOption(p: Parsed): Device {
  const d = p.values.get('device') ?? 'cpu';
  if (d !== 'cpu' && d !== 'gpu') throw new UsageError(`--device must be cpu or gpu, got '${d}'`);
  return d;
}

async function runVerify(p: Parsed, io: CliIo): Promise<number> {
  const dir = folderOf(p, io);
  const result = await verifyModelFolder(dir, p.values.get('variant'), { load: p.flags.has('load') });
  if (p.flags.has('json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else io.stdout.write((p.command === 'info' ? formatInfo(result, HELP) : formatVerify(result, HELP)) + '\n');
  return result.ok ? 0 : 1;
}

async function runFetch(p: Parsed, io: CliIo): Promise<number> {
  const url = p.values.get('url');
  const repo = p.positional[0];
  if (url && repo) throw new UsageError('give a repo id or --url, not both');
  if (repo && !isRepoId(repo)) throw new UsageError(`'${repo}' is not a repo id (owner/name); for a web folder use --url`);
  if (!repo && (p.values.has('revision') || p.values.has('subfolder'))) throw new UsageError('--revision and --subfolder are for repo ids');
  const release = !url && !repo;
  const source: ModelSource = url
    ? new UrlSource(url)
    : repo ? new HubSource({ repo, revision: p.values.get('revision'), subfolder: p.values.get('subfolder') }, io.env) : new ReleaseSource(io.env);
  const device = deviceOption(p);
  const dest = p.values.has('dest') ? path.resolve(io.cwd, p.values.get('dest') as string) : folderOf({ ...p, positional: [] }, io);
  io.stderr.write(`fetching into ${dest}\n`);
  const result = await fetchModel({
    source,
    dest,
    variant: p.values.get('variant'),
    device,
    force: p.flags.has('force'),
    progress: createProgress(io.stderr),
    confirm: async (plan) => {
      const size = plan.total === undefined ? 'size not listed' : formatBytes(plan.total);
      io.stdout.write(
        `from ${source.describe}: SAM 3 variant ${variantLabel(plan.variant)}${p.values.has('variant') ? '' : ` (the default for a ${device.toUpperCase()})`}, ` +
          `${plan.files.length} files, ${size}:\n${plan.files.map((f) => `  ${f.name}${f.size === undefined ? '' : `  ${formatBytes(f.size)}`}`).join('\n')}\n`,
      );
      if (!release) return true;
      io.stdout.write(
        `These weights are Meta's SAM 3, re-exported to ONNX by a third party (the usls project), and are under Meta's SAM License:\n` +
          `  ${SAM_LICENSE_URL}\nRead it before you use them.\n`,
      );
      if (p.flags.has('accept-license')) return true;
      if (io.ask) return io.ask('Accept the SAM License and download? [y/N] ');
      io.stderr.write('pass --accept-license to accept the SAM License and download\n');
      return false;
    },
  });
  const total = result.files.reduce((n, f) => n + f.bytes, 0);
  io.stdout.write(
    `installed SAM 3 variant ${variantLabel(result.variant)} in ${result.dest} (${result.files.length} files, ${formatBytes(total)}; ` +
      `${formatBytes(result.downloaded)} downloaded this run)${result.replaced ? ', replacing the folder that was there' : ''}\n`,
  );
  if (result.leftover) io.stdout.write(`the old folder could not be removed: delete ${result.leftover}\n`);
  io.stdout.write(formatVerify(result.report, HELP) + '\n');
  const label = variantLabel(result.variant);
  io.stdout.write(
    preferredVariant(result.report.variants, device) === result.variant
      ? `the sam3-model node loads variant ${label} with its variant field blank (for a ${device.toUpperCase()})\n`
      : `set the sam3-model node's variant to '${label}' (blank would pick another)\n`,
  );
  return result.report.ok ? 0 : 1;
}

async function runManifest(p: Parsed, io: CliIo): Promise<number> {
  if (!p.positional[0]) throw new UsageError('manifest needs the folder to describe');
  const dir = path.resolve(io.cwd, p.positional[0]);
  const entries = await writeManifest(dir);
  io.stdout.write(`wrote manifest.json and SHA256SUMS for ${entries.length} files in ${dir}\n`);
  return 0;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    (argv.length === 0 ? io.stderr : io.stdout).write(USAGE + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  try {
    const p = parse(argv);
    if (p.command === 'fetch') return await runFetch(p, io);
    if (p.command === 'manifest') return await runManifest(p, io);
    return await runVerify(p, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`sam3-model: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    const message = err instanceof FetchError ? err.message : `${(err as Error).message ?? String(err)}`;
    io.stderr.write(`sam3-model: ${message}\n`);
    return 1;
  }
}

/** The process entry (bin/sam3-model.js): argv from the process, exit status to it. */
export function runCli(): void {
  process.once('SIGINT', () => {
    // The partial file keeps what arrived; the lock left behind is taken over by the next run.
    process.stderr.write('\ninterrupted; run the same command again to resume the download\n');
    process.exit(130);
  });
  const ask = process.stdin.isTTY
    ? (question: string): Promise<boolean> => new Promise((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      rl.question(question, (answer) => {
        rl.close();
        resolve(/^y(es)?$/i.test(answer.trim()));
      });
    })
    : undefined;
  void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), ask }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runCli();
