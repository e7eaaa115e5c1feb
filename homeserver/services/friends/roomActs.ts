/** Acting on a friend request's room from the friend services. */
import { MatrixError } from '../../errors.ts';

/**
 * Runs a membership act (join, reject, rescind). A refusal means the room moved on (the
 * invite is already gone, the user already left): the caller then settles the friend tables
 * alone, so a refusal is not an error here.
 */
export async function settleInRoom(act: () => Promise<unknown>): Promise<void> {
  try {
    await act();
  } catch (err) {
    if (!(err instanceof MatrixError) || err.status >= 500) throw err;
  }
}
