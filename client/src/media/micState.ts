/**
 * Mute and deafen as Discord has them: deafening mutes the microphone too (nobody talks into a
 * call they cannot hear), undeafening gives back the mute the user had before deafening, and
 * unmuting while deafened undeafens as well. The homeserver applies the same rule to what a
 * client sends (homeserver/services/voice/muteRule.ts), so room state always agrees.
 */

export interface MicState {
  muted: boolean;
  deafened: boolean;
  /** While deafened: the mute to go back to when undeafening. */
  mutedBeforeDeafen: boolean;
}

export const UNMUTED: MicState = { muted: false, deafened: false, mutedBeforeDeafen: false };

/** The state after the user asks to mute/unmute or deafen/undeafen (mute is taken first when both are given). */
export function changeMic(state: MicState, change: { muted?: boolean; deafened?: boolean }): MicState {
  let s = state;
  if (change.muted === false && s.deafened) s = UNMUTED;
  else if (change.muted !== undefined) s = s.deafened ? { ...s, mutedBeforeDeafen: change.muted } : { ...s, muted: change.muted };
  if (change.deafened === true && !s.deafened) s = { muted: true, deafened: true, mutedBeforeDeafen: s.muted };
  else if (change.deafened === false && s.deafened) s = { muted: s.mutedBeforeDeafen, deafened: false, mutedBeforeDeafen: false };
  return s;
}
