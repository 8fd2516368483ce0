import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Where the stand-ins keep what they build once (extracted binaries, tool archives): `<repo>/.tmp/<what>` when
 * it is already there (root may have built it: it is world-readable) or when this user may write the checkout;
 * else a per-user cache, for a normal user running a checkout owned by someone else.
 */
export function cacheDir(what: string, built: (dir: string) => boolean): string {
  const inRepo = path.join(repoRoot, '.tmp', what);
  if (built(inRepo) || writable(path.join(repoRoot, '.tmp'))) return inRepo;
  return path.join(userCache(), what);
}

/** $XDG_CACHE_HOME or ~/.cache when HOME is writable, else this user's own directory under os.tmpdir(). */
function userCache(): string {
  const home = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'));
  if (home && writable(home)) return path.join(home, 'skyha-action');
  const dir = path.join(os.tmpdir(), `skyha-action-${os.userInfo().uid}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A shared temp dir: refuse one another user made first, whose binaries we would then run.
  if (fs.statSync(dir).uid !== os.userInfo().uid) throw new Error(`${dir} belongs to another user`);
  return dir;
}

/** Whether this user can create files in dir (creating it, and its parents, if need be). */
function writable(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
