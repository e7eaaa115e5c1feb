/**
 * The first script of the page (a few hundred bytes, run before the app's own bundle has
 * arrived): on a signed-in load, start the crypto WASM's download and compilation at once,
 * so they overlap the app's loading instead of following it. The sign-in page loads none of it.
 */
import { prepareCryptoWasm } from './state/cryptoWasm.ts';
import { hasSavedSession } from './state/savedSession.ts';

if (hasSavedSession(localStorage)) void prepareCryptoWasm();
