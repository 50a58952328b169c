/** Plain-text renderings of a folder check, for `sam3-model verify` and `sam3-model info`. */
import type { ValueInfo } from '../engine';
import { formatBytes } from './progress';
import { variantLabel, type VerifyResult } from './report';

const FROM = { graph: 'from the vision encoder', 'config.json': 'from config.json', default: 'assumed' } as const;

function tensor(side: 'in ' | 'out', v: ValueInfo, width: number): string {
  return `      ${side} ${v.name.padEnd(width)} ${(v.type ?? 'non-tensor').padEnd(8)} [${v.shape.join(', ')}]`;
}

function status(r: VerifyResult, help: string): string[] {
  const lines = r.warnings.map((w) => `warning: ${w}`);
  if (r.ok) {
    lines.push(`OK: variant ${variantLabel(r.variant)} of ${r.dir} matches the SAM 3 contract`);
  } else {
    lines.push(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} with ${r.dir}:`, ...r.problems.map((p) => `  - ${p}`), help);
  }
  return lines;
}

/** How each layout is named to people. */
const LAYOUT_NAMES = {
  usls: "the usls 3-file split (vision-encoder, text-encoder, geo-encoder-mask-decoder)",
  samexporter: "samexporter's (AnyLabeling) export (sam3_image_encoder, sam3_language_encoder, sam3_decoder; scores above 0.5 only)",
} as const;

export function formatVerify(r: VerifyResult, help: string): string {
  const lines: string[] = [];
  if (r.layout) lines.push(`layout: ${LAYOUT_NAMES[r.layout]}`);
  if (r.variant !== undefined) {
    lines.push(`checked variant ${variantLabel(r.variant)}${r.imageSize ? `, image size ${r.imageSize} (${FROM[r.imageSizeFrom ?? 'default']})` : ''}`);
  }
  return [...lines, ...status(r, help)].join('\n');
}

export function formatInfo(r: VerifyResult, help: string): string {
  const lines = [`SAM 3 model folder ${r.dir}`];
  if (r.variant === undefined) return [...lines, ...status(r, help)].join('\n');
  lines.push(`layout: ${r.layout ? LAYOUT_NAMES[r.layout] : 'neither layout the engine runs'}`);
  lines.push(`complete variants: ${r.variants.length ? r.variants.map(variantLabel).join(', ') : 'none'}`);
  lines.push(`variant shown: ${variantLabel(r.variant)}`);
  if (r.imageSize) lines.push(`image size: ${r.imageSize} x ${r.imageSize} (${FROM[r.imageSizeFrom ?? 'default']})`);
  lines.push('graphs:');
  for (const g of r.graphs) {
    const meta = [g.opset !== undefined ? `opset ${g.opset}` : '', g.irVersion !== undefined ? `IR ${g.irVersion}` : ''].filter(Boolean).join(', ');
    lines.push(`  ${g.file}  ${formatBytes(g.bytes)}${meta ? `  (${meta})` : ''}`);
    for (const d of g.externalData) lines.push(`    weights: ${d.file}  ${d.bytes === undefined ? 'MISSING' : formatBytes(d.bytes)}`);
    const width = Math.max(0, ...g.inputs.map((v) => v.name.length), ...g.outputs.map((v) => v.name.length));
    lines.push(...g.inputs.map((v) => tensor('in ', v, width)), ...g.outputs.map((v) => tensor('out', v, width)));
  }
  lines.push('files:');
  for (const f of r.sizes.files) lines.push(`  ${f.file.padEnd(40)} ${formatBytes(f.bytes).padStart(9)}`);
  lines.push(
    `on disk: this variant ${formatBytes(r.sizes.variant)} + tokenizer and config ${formatBytes(r.sizes.shared)}; whole folder ${formatBytes(r.sizes.folder)}`,
  );
  return [...lines, ...status(r, help)].join('\n');
}
