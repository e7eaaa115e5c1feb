/** For the state layer's tests: a user's ChatState over a real server, and what a room shows. */
import { createClient } from 'matrix-js-sdk';
import type { TestServer, TestUser } from '../../../spec-tests/harness.ts';
import { ChatState } from './chat.ts';

/** The user's ChatState, signed in with their test session and started. */
export async function startChat(srv: TestServer, user: TestUser, fetchFn?: typeof fetch): Promise<ChatState> {
  const client = createClient({ baseUrl: srv.url, accessToken: user.access_token, userId: user.user_id, deviceId: user.device_id, fetchFn });
  const chat = new ChatState(client);
  await chat.start();
  return chat;
}

/** The message texts a room's timeline shows, oldest first. */
export const bodies = (chat: ChatState, roomId: string) =>
  chat.timeline(roomId).flatMap((i) => (i.kind === 'message' ? [ChatState.bodyOf(i.event)] : []));
