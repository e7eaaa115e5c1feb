/** Route paths the views link to (kept apart so the sidebar's parts can share them without importing each other). */
export const roomHref = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;
