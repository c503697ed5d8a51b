// Entry of the offline viewer (bundled by scripts/build-viewer.mjs). It is neuroglancer's default
// viewer, as its own main.bundle.js sets it up (setupDefaultViewer), with one change: the state in
// the `#!{...}` fragment is restored before the URL-hash binding exists.
//
// Why: the binding writes the state back to the URL through a debounce with maxWait 400 ms, and
// lodash runs a debounced call synchronously once maxWait has passed. On a slow or busy machine the
// first restore takes longer than that, so the write-back runs in the middle of restoring the
// annotation layer, whose toJSON then reads a field not yet set ("Cannot read properties of
// undefined (reading 'length')"), and neuroglancer drops the layer. Seen in neuroglancer 2.41.2
// in headless Chromium about one load in ten; the same code is still upstream.
import 'neuroglancer/unstable/util/polyfills.js';
import 'neuroglancer/unstable/layer/enabled_frontend_modules.js';
import 'neuroglancer/unstable/datasource/enabled_frontend_modules.js';
import 'neuroglancer/unstable/kvstore/enabled_frontend_modules.js';
import { StatusMessage } from 'neuroglancer/unstable/status.js';
import {
  bindDefaultCopyHandler,
  bindDefaultPasteHandler,
} from 'neuroglancer/unstable/ui/default_clipboard_handling.js';
import { setDefaultInputEventBindings } from 'neuroglancer/unstable/ui/default_input_event_bindings.js';
import { makeDefaultViewer } from 'neuroglancer/unstable/ui/default_viewer.js';
import { bindTitle } from 'neuroglancer/unstable/ui/title.js';
import { UrlHashBinding } from 'neuroglancer/unstable/ui/url_hash_binding.js';
import { urlSafeParse, verifyObject } from 'neuroglancer/unstable/util/json.js';

function showParseError(error) {
  new StatusMessage().setErrorMessage(`Error parsing state: ${error?.message ?? error}`);
}

// Like setupDefaultViewer, `window.viewer` is the viewer (handy in devtools; the browser test reads it).
const viewer = (window.viewer = makeDefaultViewer());
setDefaultInputEventBindings(viewer.inputEventBindings);

// Only the inline JSON form is restored here; the other fragment forms (`#!+{...}`, `#!<url>`)
// are left to the binding, as before.
const hash = location.hash;
let initialState;
if (hash.startsWith('#!') && !hash.startsWith('#!+') && !/^#!([a-z][a-z\d+-.]*):\/\//.test(hash)) {
  initialState = decodeURIComponent(hash.slice(2));
  try {
    const state = urlSafeParse(initialState);
    verifyObject(state);
    viewer.state.restoreState(state);
  } catch (error) {
    showParseError(error);
  }
}

const hashBinding = viewer.registerDisposer(
  new UrlHashBinding(viewer.state, viewer.dataSourceProvider.sharedKvStoreContext),
);
viewer.registerDisposer(
  hashBinding.parseError.changed.add(() => {
    if (hashBinding.parseError.value !== undefined) showParseError(hashBinding.parseError.value);
  }),
);
if (initialState !== undefined) {
  // What the binding itself records after parsing a fragment, so that it does not parse it again.
  hashBinding.prevStateString = initialState;
} else {
  hashBinding.updateFromUrlHash();
}
viewer.registerDisposer(bindTitle(viewer.title));
bindDefaultCopyHandler(viewer);
bindDefaultPasteHandler(viewer);
