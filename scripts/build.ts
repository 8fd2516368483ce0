// `npm run build` (and check-dist.sh, into a scratch folder): the ncc bundle of src/index.ts, with the Compute
// clients' 11.7 MB protos.json replaced by the descriptors of the calls the action makes (src/clients/computeProtos.ts).
// The ncc CLI cannot map a module to another file; its API can (an external with a regular expression).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { trimComputeProtos, type ProtoNode } from '../src/clients/computeProtos.js';

interface NccAsset {
  source: string | Buffer;
  permissions?: number;
}
interface NccOutput {
  code: string;
  assets: Record<string, NccAsset>;
  symlinks: Record<string, string>;
}
type Ncc = (entry: string, options: Record<string, unknown>) => Promise<NccOutput>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
/** The file, next to the bundle, that the clients load instead of their protos.json. */
export const COMPUTE_PROTOS_FILE = 'compute-protos.json';
/**
 * @actions/http-client imports undici (0.9 MB, ~80 ms and ~18 MB at start-up) only for getAgentDispatcher(), which
 * nothing in the action calls: the bundle gets this stand-in instead, which says so if it is ever used.
 */
export const UNDICI_STUB_FILE = 'undici-unused.cjs';
const UNDICI_STUB = `// Written by scripts/build.ts. @actions/http-client imports undici only for getAgentDispatcher(), which
// skyha-action never calls; the real undici is not bundled (it cost ~80 ms and ~18 MB at every start).
class ProxyAgent {
  constructor() {
    throw new Error('undici is not bundled in skyha-action: HttpClient.getAgentDispatcher() is not available');
  }
}
module.exports = { ProxyAgent };
`;
// The request every @google-cloud/compute v1 client makes for its descriptors.
const PROTOS_REQUEST = '/^\\.\\.\\/\\.\\.\\/protos\\/protos\\.json$/';

export async function build(outDir: string): Promise<string[]> {
  const ncc = require('@vercel/ncc') as Ncc;
  const { code, assets, symlinks } = await ncc(path.join(root, 'src', 'index.ts'), {
    license: 'licenses.txt',
    transpileOnly: true,
    quiet: true,
    externals: { [PROTOS_REQUEST]: `./${COMPUTE_PROTOS_FILE}`, undici: `./${UNDICI_STUB_FILE}` },
  });
  const full = JSON.parse(
    fs.readFileSync(require.resolve('@google-cloud/compute/build/protos/protos.json'), 'utf8'),
  ) as ProtoNode;
  const files: Record<string, NccAsset> = {
    'index.js': { source: code },
    ...assets,
    [COMPUTE_PROTOS_FILE]: { source: JSON.stringify(trimComputeProtos(full)) },
    [UNDICI_STUB_FILE]: { source: UNDICI_STUB },
  };
  const js = Object.entries(files).filter(([name]) => name.endsWith('.js'));
  if (!js.some(([, f]) => String(f.source).includes(`("./${COMPUTE_PROTOS_FILE}")`))) {
    throw new Error(
      `No Compute client loads ./${COMPUTE_PROTOS_FILE}: did the clients' protos.json request change?`,
    );
  }
  if (
    js.some(
      ([name, f]) =>
        name !== UNDICI_STUB_FILE && /class ProxyAgent extends DispatcherBase/.test(String(f.source)),
    )
  ) {
    throw new Error('The bundle still holds undici');
  }
  if (js.some(([, f]) => String(f.source).includes('"v1small"'))) {
    throw new Error("The bundle still holds the package's full protos.json");
  }
  // A clean folder: nothing a previous build left can linger (check-dist compares every file).
  fs.rmSync(outDir, { recursive: true, force: true });
  for (const [name, file] of Object.entries(files)) {
    const target = path.join(outDir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.source, file.permissions === undefined ? {} : { mode: file.permissions });
  }
  for (const [name, link] of Object.entries(symlinks)) fs.symlinkSync(link, path.join(outDir, name));
  return Object.keys(files).sort();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const outDir = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
  build(outDir).then(
    (files) => {
      const size = files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
      console.log(`${path.relative(process.cwd(), outDir) || '.'}: ${files.length} files, ${size} bytes`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
