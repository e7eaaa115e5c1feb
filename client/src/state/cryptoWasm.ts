/**
 * The Rust crypto's WASM, fetched and compiled ahead of time. Crypto must run before the first
 * sync, and compiling its WASM (megabytes) is the longest part of starting it: begun while the
 * app's own code still downloads and parses (boot.ts), or while the sign-in request is on its way
 * (views/auth.ts), it is mostly done by the time the sdk asks for it.
 * `initAsync` is the WASM package's own loader; the sdk calls it again and gets the same module
 * (esbuild puts the package in one chunk, shared by this import and the sdk's).
 */
export function prepareCryptoWasm(): Promise<void> {
  // A failure is the sdk's to report when it starts crypto (EncryptionState.startError).
  return import('@matrix-org/matrix-sdk-crypto-wasm').then((wasm) => wasm.initAsync()).catch(() => {});
}
