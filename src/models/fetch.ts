/**
 * `sam3-model fetch`: lists a source, picks one variant's files, downloads
 * them into `<dest>.partial-download/` (resumable, size- and checksum-checked),
 * checks the result against the contract like `verify`, and only then renames
 * it to `<dest>`. Whatever fails on the way, `<dest>` is untouched.
 */
import * as path from 'node:path';
import { downloadFile } from './download';
import { destinationTaken, installFolder } from './install';
import { planFiles } from './plan';
import { silentProgress, type ProgressSink } from './progress';
import { variantLabel, type VerifyResult } from './report';
import { FetchError, type ModelSource } from './source';
import type { Device } from '../engine';
import { Staging } from './staging';
import { verifyModelFolder } from './verify';

export interface FetchOptions {
  source: ModelSource;
  dest: string;
  /** '' or 'fp32' for the unsuffixed files, 'fp16', 'q4f16', ...; default: the source's best complete variant. */
  variant?: string;
  /** Replace an existing model folder (swapped atomically once the new one is complete). */
  force?: boolean;
  progress?: ProgressSink;
  /** Extra attempts per file after a dropped connection or server error. Default 4. */
  retries?: number;
  /** Give up on an attempt when no byte arrives for this long. Default 60 s. */
  stallMs?: number;
  /** First pause between attempts, doubling. Default 2 s. */
  backoffMs?: number;
  /** What the model will run on, for the default variant (q8 on a CPU when there is one, fp16 on a GPU). */
  device?: Device;
  /**
   * Asked once the files are chosen and before any byte is downloaded, with
   * what was chosen; false stops the fetch (e.g. a licence not accepted).
   */
  confirm?: (plan: { variant: string; files: Array<{ name: string; size?: number }>; total?: number }) => Promise<boolean>;
}

export interface FetchResult {
  dest: string;
  variant: string;
  /** Bytes transferred in this run (less than the model's size after a resume). */
  downloaded: number;
  files: Array<{ name: string; bytes: number }>;
  replaced: boolean;
  /** Set when an old folder swapped out with --force could not be deleted. */
  leftover?: string;
  report: VerifyResult;
}

export async function fetchModel(opts: FetchOptions): Promise<FetchResult> {
  const dest = path.resolve(opts.dest);
  const progress = opts.progress ?? silentProgress;
  if (!opts.force && (await destinationTaken(dest))) {
    throw new FetchError(`${dest} already exists; pass --force to replace it once the new model is complete, or --dest to fetch into another folder`);
  }
  const listed = await opts.source.list(opts.variant);
  const plan = planFiles(listed, opts.variant, opts.source.describe, opts.device);
  const sizes = plan.files.map((f) => f.size);
  const total = sizes.every((s) => s !== undefined) ? sizes.reduce((a: number, s) => a + s, 0) : undefined;
  if (opts.confirm && !(await opts.confirm({ variant: plan.variant, files: plan.files.map((f) => ({ name: f.name, size: f.size })), total }))) {
    throw new FetchError('nothing was downloaded: the licence was not accepted');
  }
  progress.note(`fetching variant ${variantLabel(plan.variant)} from ${opts.source.describe}: ${plan.files.map((f) => f.name).join(', ')}`);

  const staging = await Staging.open(dest);
  try {
    await staging.prepare(opts.source.id, plan);
    const state = await Promise.all(plan.files.map((f) => staging.have(f.name, f.size)));
    const already = state.reduce((n, s) => n + s.bytes, 0);
    let downloaded = 0;
    const counting: ProgressSink = {
      ...progress,
      advance: (n) => {
        downloaded += n;
        progress.advance(n);
      },
    };
    progress.begin(total, already);
    try {
      for (const [i, file] of plan.files.entries()) {
        if (state[i].finished) continue;
        await downloadFile(file, staging.partialPath(file.name), {
          source: opts.source,
          progress: counting,
          retries: opts.retries ?? 4,
          stallMs: opts.stallMs ?? 60_000,
          backoffMs: opts.backoffMs ?? 2_000,
        });
        await staging.finish(file.name);
      }
    } finally {
      progress.end();
    }

    const check = await verifyModelFolder(staging.dir, plan.variant);
    if (!check.ok) {
      throw new FetchError(
        `the downloaded files do not make a SAM 3 model this engine can run, so nothing was installed:\n- ${check.problems.join('\n- ')}\n` +
          `The files are kept in ${staging.dir}; delete that folder when done with it.`,
      );
    }
    const unseal = await staging.seal();
    const installed = await installFolder(staging.dir, dest, opts.force === true).catch(async (err: unknown) => {
      await unseal();
      throw err;
    });
    const report = await verifyModelFolder(dest, plan.variant);
    return {
      dest,
      variant: plan.variant,
      downloaded: Math.max(0, downloaded),
      files: plan.files.map((f) => ({ name: f.name, bytes: report.sizes.files.find((s) => s.file === f.name)?.bytes ?? 0 })),
      replaced: installed.replaced,
      leftover: installed.leftover,
      report,
    };
  } finally {
    await staging.release();
  }
}
