/**
 * The Rust crypto's WASM, fetched and compiled ahead of time: compiling it (megabytes) is the
 * longest part of starting crypto, and while the sign-in request is on its way (views/auth.ts)
 * the page has nothing else to do. (A signed-in load does not: there the WASM waits until the
 * rooms are drawn, see app.ts.)
 * `initAsync` is the WASM package's own loader; the sdk calls it again and gets the same module
 * (esbuild puts the package in one chunk, shared by this import and the sdk's).
 */
export function prepareCryptoWasm(): Promise<void> {
  // A failure is the sdk's to report when it starts crypto (EncryptionState.startError).
  return import('@matrix-org/matrix-sdk-crypto-wasm').then((wasm) => wasm.initAsync()).catch(() => {});
}
