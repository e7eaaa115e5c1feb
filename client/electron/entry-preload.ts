/** The bundled preload entry (dist/preload.cjs): sandboxed preloads may require only 'electron'. */
import { exposeDesktopApi } from './preload.ts';

declare const require: (id: string) => any;

exposeDesktopApi(require('electron'));
