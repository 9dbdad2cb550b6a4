// Every package's declarations loaded under `lib: ["es2020", "dom"]` (tsconfig.es2020.json):
// the full bundler and web packages and each single-capability subpath, whose declarations
// wasm-bindgen writes from that build's features alone. Every export is reached through the
// namespaces, so each declaration is checked; what each export promises is pinned down by
// consumer.ts.

import * as cometkit from 'cometkit';
import init, * as web from 'cometkit/web';
import * as eventsource from 'cometkit/eventsource';
import * as jsonp from 'cometkit/jsonp';
import * as ping from 'cometkit/ping';
import * as socket from 'cometkit/socket';
import * as socketio from 'cometkit/socketio';
import * as websocket from 'cometkit/websocket';
import * as xdr from 'cometkit/xdr';
import * as xhr from 'cometkit/xhr';

export const packages: readonly object[] = [cometkit, web];
export const subpaths: readonly object[] = [eventsource, jsonp, ping, socket, socketio, websocket, xdr, xhr];
export const start: typeof init = init;
