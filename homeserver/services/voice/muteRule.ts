/**
 * Mute and deafen in a call, as Discord has them and the Whisper client does
 * (client/src/media/micState.ts): deafened always means muted too, undeafening gives back the
 * mute from before deafening, unmuting while deafened undeafens. The room state every member
 * reads therefore never shows a deafened user with an open microphone, whatever a client sends.
 */

export interface MuteState {
  muted: boolean;
  deafened: boolean;
  /** Remembered while deafened: the mute undeafening returns to. */
  mutedBeforeDeafen: boolean;
}

/**
 * Applies a client's `state` step. Mute is taken before deafen, so a client that sends both
 * flags of a consistent state (its own rule's outcome) gets exactly that state.
 */
export function applyMuteChange(current: MuteState, change: { muted?: boolean; deafened?: boolean }): MuteState {
  const next = { ...current };
  if (change.muted !== undefined) {
    if (!next.deafened) next.muted = change.muted;
    else if (change.muted) next.mutedBeforeDeafen = true;
    else Object.assign(next, { muted: false, deafened: false, mutedBeforeDeafen: false });
  }
  if (change.deafened !== undefined && change.deafened !== next.deafened) {
    const restored = next.mutedBeforeDeafen;
    next.mutedBeforeDeafen = change.deafened ? next.muted : false;
    next.muted = change.deafened || restored;
    next.deafened = change.deafened;
  }
  return next;
}
