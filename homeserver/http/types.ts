/** The per-request state every middleware and handler shares. */
import type { Next } from 'koa';
import type { Router, RouterContext } from '@koa/router';
import type { Requester } from '../services/sessions.ts';

export interface WhisperState {
  requestId: string;
  /** The parsed JSON body ({} when empty); validated by each handler. */
  body: unknown;
  /** Set by the auth middleware on routes that need a signed-in user. */
  requester?: Requester;
}

export type Ctx = RouterContext<WhisperState>;
export type WhisperRouter = Router<WhisperState>;
export type { Next };
