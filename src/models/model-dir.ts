/** Where the sam3-model node looks for its model folder. */
import * as os from 'node:os';
import * as path from 'node:path';

export interface ModelDirSources {
  /** The folder typed into the node, if any (relative: to the user dir). */
  configured?: string;
  env: NodeJS.ProcessEnv;
  /** settings.js `sam3ModelDir`. */
  setting?: unknown;
  userDir?: string;
}

/**
 * The node's own field wins, then the SAM3_MODEL_DIR environment variable,
 * then settings.js, then `<userDir>/models/sam3`: never inside the package
 * directory, which an upgrade replaces.
 */
export function resolveModelDir(s: ModelDirSources): string {
  const userDir = s.userDir || path.join(os.homedir(), '.node-red');
  const pick = [s.configured, s.env.SAM3_MODEL_DIR, typeof s.setting === 'string' ? s.setting : undefined].find(
    (v) => typeof v === 'string' && v.trim() !== '',
  );
  return pick ? path.resolve(userDir, pick.trim()) : path.join(userDir, 'models', 'sam3');
}
