import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// The bundle is an ES module, but google-gax reads __dirname while it loads: give it the bundle's folder.
(globalThis as { __dirname?: string }).__dirname ??= path.dirname(fileURLToPath(import.meta.url));
