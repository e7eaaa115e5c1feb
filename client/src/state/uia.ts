/**
 * User-interactive auth for sensitive acts (change password, 2FA, email, signing sessions out):
 * the server answers 401 with the stages it wants; we ask the user for each one through a
 * prompt the views supply (the password, then the authenticator code when 2FA is on) and retry
 * with the session the server gave. A wrong answer is asked again with the server's message.
 */
import { MatrixError } from 'matrix-js-sdk';

export type UiaStage = 'm.login.password' | 'org.whisper.totp';
/** Resolves with what the user typed for `stage`; rejects (UiaCancelled) when they give up. */
export type UiaPrompt = (stage: UiaStage, error?: string) => Promise<string>;
export type UiaAuth = Record<string, unknown>;

export class UiaCancelled extends Error {
  constructor() {
    super('Cancelled');
  }
}

const KNOWN: readonly string[] = ['m.login.password', 'org.whisper.totp'];

interface Challenge {
  session?: string;
  flows?: { stages: string[] }[];
  completed?: string[];
  errcode?: string;
  error?: string;
}

function challengeOf(err: unknown): Challenge | undefined {
  if (!(err instanceof MatrixError) || err.httpStatus !== 401) return undefined;
  const data = err.data as Challenge;
  return data?.flows ? data : undefined;
}

/**
 * Runs `act` (which sends `auth` with the request), completing the server's stages as it asks.
 * `userId` fills the password stage's identifier.
 */
export async function withUia<T>(userId: string, act: (auth?: UiaAuth) => Promise<T>, prompt: UiaPrompt): Promise<T> {
  let auth: UiaAuth | undefined;
  for (let round = 0; round < 10; round++) {
    let challenge: Challenge | undefined;
    try {
      return await act(auth);
    } catch (err) {
      challenge = challengeOf(err);
      if (!challenge) throw err;
    }
    const done = challenge.completed ?? [];
    const flow = challenge.flows!.find((f) => f.stages.every((s) => KNOWN.includes(s)));
    if (!flow) throw new Error(`The server asks for ${challenge.flows!.map((f) => f.stages.join(' + ')).join(' or ')}, which Whisper cannot do`);
    const stage = flow.stages.find((s) => !done.includes(s)) as UiaStage | undefined;
    if (!stage) throw new Error('The server did not accept the authentication');
    // An errcode beside the flows means the last answer was wrong: ask again, saying why.
    const answer = await prompt(stage, auth && challenge.errcode ? challenge.error ?? 'That did not work' : undefined);
    auth = stage === 'm.login.password'
      ? { type: stage, identifier: { type: 'm.id.user', user: userId }, password: answer, session: challenge.session }
      : { type: stage, code: answer.trim(), session: challenge.session };
  }
  throw new Error('Too many authentication rounds');
}
