/**
 * Where the signed-in session is kept in Web Storage. Its own module so the page's first script
 * (boot.ts) can tell a signed-in load without loading the session code.
 */
export const SESSION_KEY = 'whisper.session';

export function hasSavedSession(store: Pick<Storage, 'getItem'>): boolean {
  return !!store.getItem(SESSION_KEY);
}
