// Both packages' declarations loaded under `lib: ["es2020", "dom"]` (tsconfig.es2020.json).
// Every export is reached through the namespaces, so each declaration is checked; what each
// export promises is pinned down by consumer.ts.

import * as cometkit from 'cometkit';
import init, * as web from 'cometkit/web';

export const packages: readonly object[] = [cometkit, web];
export const start: typeof init = init;
