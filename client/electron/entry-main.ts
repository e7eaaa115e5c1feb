/** The bundled main-process entry (dist/main.cjs): the real Electron module into createApp. */
import path from 'node:path';
import { createApp } from './main.ts';

declare const require: (id: string) => any;

createApp(require('electron'), {
  preloadPath: path.join(__dirname, 'preload.cjs'),
  setupPagePath: path.join(__dirname, 'setup.html'),
  iconPath: path.join(__dirname, 'icon.png'),
});
