/**
 * Each bench runs in a child process of its own, so that its peak RSS and
 * its event loop are its own and not what an earlier bench left behind.
 * Arguments go in as one JSON argument, the result comes back as a JSON
 * file (stdout stays free for whatever Node-RED or ffmpeg print).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface ChildArgs {
  resultFile: string;
}

export interface RunChildOptions {
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  cwd?: string;
}

/** Runs dist/bench/<script>.js with `args` and resolves with what it returned. */
export async function runChild<R>(script: string, args: object, options: RunChildOptions = {}): Promise<R> {
  const resultFile = path.join(os.tmpdir(), `sam3-bench-${process.pid}-${Date.now()}-${script.replace(/\W/g, '_')}.json`);
  const file = path.join(__dirname, '..', `${script}.js`);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), file, JSON.stringify({ ...args, resultFile })], {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: options.cwd,
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, signal) => resolve(signal ? 128 : c));
  });
  try {
    if (code !== 0) throw new Error(`bench ${script} exited with code ${code}`);
    return JSON.parse(await fs.readFile(resultFile, 'utf8')) as R;
  } finally {
    await fs.rm(resultFile, { force: true });
  }
}

/** The child's side: parse the arguments, run, write the result, and exit (Node-RED keeps handles open). */
export function childMain<A extends object, R>(fn: (args: A) => Promise<R>): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as A & ChildArgs;
  fn(args).then(
    async (result) => {
      await fs.writeFile(args.resultFile, JSON.stringify(result));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
