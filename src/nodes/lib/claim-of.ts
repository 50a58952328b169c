/**
 * The watched-folder claim a message belongs to (msg.claim, set by
 * watch-folder). Nodes that work on a claimed file hold the claim while they
 * work, write its result to the claim's staging file, and drop a message
 * whose claim has already ended (timed out, failed, or its flow stopped)
 * without a word: the end was reported once, by the intake.
 */
import { liveClaims, type LiveClaim } from '../../watch/live-claims';

export type ClaimState = LiveClaim | 'ended' | undefined;

export function claimOf(msg: object): ClaimState {
  const token = ((msg as { claim?: unknown }).claim as { token?: unknown } | undefined)?.token;
  if (typeof token !== 'string') return undefined;
  return liveClaims.get(token) ?? (liveClaims.hasEnded(token) ? 'ended' : undefined);
}
