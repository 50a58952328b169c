/**
 * CLIP tokenization for the SAM 3 text encoder. @huggingface/tokenizers loads
 * tokenizer.json but neither pads nor truncates, so the fixed-length
 * [SOT, tokens..., EOT, pad...] layout is built here.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument --
   @huggingface/tokenizers is an ES module whose types typescript-eslint cannot resolve from this CommonJS
   build (tsc does, through the resolution-mode import below, and checks these calls). */
import { promises as fs } from 'node:fs';
import type { Tokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { CodedError } from '../../common/coded-error';

export const CLIP_SOT = 49406;
export const CLIP_EOT = 49407;

export interface TokenizedPrompt {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Number of real tokens (SOT and EOT included). */
  length: number;
}

/** The cache key and label form of a prompt: lower case, single spaces. */
export function normalisePrompt(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly sot: number,
    readonly eot: number,
    readonly pad: number,
    readonly contextLength: number,
  ) {}

  /** `padId`: the id a layout pads with whatever the tokenizer says (samexporter's text encoder needs 0). */
  static async load(tokenizerPath: string, configPath: string | undefined, contextLength: number, padId?: number): Promise<ClipTokenizer> {
    let json: unknown;
    let config: Record<string, unknown> = {};
    try {
      json = JSON.parse(await fs.readFile(tokenizerPath, 'utf8'));
      if (configPath) config = JSON.parse(await fs.readFile(configPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new CodedError('MODEL_TOKENIZER_INVALID', `cannot read tokenizer ${tokenizerPath}: ${(err as Error).message}`);
    }
    let tokenizer: Tokenizer;
    try {
      // The library is ESM-only; a dynamic import loads it from CommonJS.
      const lib = await import('@huggingface/tokenizers');
      tokenizer = new lib.Tokenizer(json, config);
    } catch (err) {
      throw new CodedError('MODEL_TOKENIZER_INVALID', `tokenizer ${tokenizerPath} is not a valid Hugging Face tokenizer.json: ${(err as Error).message}`);
    }
    const sot = tokenizer.token_to_id('<|startoftext|>') ?? CLIP_SOT;
    const eot = tokenizer.token_to_id('<|endoftext|>') ?? CLIP_EOT;
    // CLIP pads with EOT; a tokenizer_config that names another pad token wins.
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : undefined;
    const pad = padId ?? (padToken ? tokenizer.token_to_id(padToken) : undefined) ?? eot;
    return new ClipTokenizer(tokenizer, sot, eot, pad, contextLength);
  }

  encode(text: string): TokenizedPrompt {
    const ids = this.tokenizer.encode(normalisePrompt(text), { add_special_tokens: false }).ids.filter(
      (id: number) => id !== this.sot && id !== this.eot,
    );
    // Truncate so that EOT always stays last, as CLIP was trained.
    const body = ids.slice(0, this.contextLength - 2);
    const tokens = [this.sot, ...body, this.eot];
    const inputIds = new BigInt64Array(this.contextLength).fill(BigInt(this.pad));
    const attentionMask = new BigInt64Array(this.contextLength);
    tokens.forEach((id, i) => {
      inputIds[i] = BigInt(id);
      attentionMask[i] = 1n;
    });
    return { inputIds, attentionMask, length: tokens.length };
  }
}
