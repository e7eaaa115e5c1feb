/**
 * Interactive verification (emoji SAS) over matrix-js-sdk's CryptoApi, and the trust it leaves:
 * "verify this session" from a new sign-in (to the user's other sessions), "verify this person"
 * in a DM (an in-room request), incoming requests to accept or decline, the seven emojis to
 * compare, and the answers the views need at once (is this user verified, is that session of
 * mine, is this one). One verification at a time, as in Element.
 *
 * Listens on the client, whose crypto events are re-emitted from Rust crypto whenever that
 * starts, so this can be made before crypto runs; until it runs every answer is "unknown".
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import {
  VerificationPhase, VerificationRequestEvent, VerifierEvent,
  type EmojiMapping, type ShowSasCallbacks, type VerificationRequest, type Verifier,
} from 'matrix-js-sdk/lib/crypto-api/verification.js';
import { withUia, type UiaPrompt } from './uia.ts';

const SAS = 'm.sas.v1';

/**
 * Where the verification stands: `waiting` for the other side to accept our request,
 * `incoming` (theirs, to accept or decline), `starting` (accepted, the emojis being worked out),
 * `emojis` to compare, `confirmed` (we said they match; waiting for the other side), `done`,
 * `cancelled` (by either side, a mismatch, or a timeout).
 */
export type VerificationStep = 'waiting' | 'incoming' | 'starting' | 'emojis' | 'confirmed' | 'done' | 'cancelled';

export interface VerificationView {
  step: VerificationStep;
  /** Another session of our own (rather than another person). */
  self: boolean;
  otherUserId: string;
  otherDeviceId?: string;
  emojis?: EmojiMapping[];
  /** Why it was cancelled, in words. */
  reason?: string;
}

/** This session, as its user's other sessions see it: no identity yet on the account, cross-signed, or not. */
export type SessionTrust = 'no-identity' | 'verified' | 'unverified';

export class VerificationError extends Error {}

/** The cancellation codes of the spec, in words a person understands. */
function reasonOf(code: string | null, byMe: boolean): string {
  switch (code) {
    case 'm.mismatched_sas': return 'The emojis did not match, so nothing was verified.';
    case 'm.timeout': return 'The verification timed out.';
    case 'm.user': return byMe ? 'You cancelled the verification.' : 'The other side cancelled the verification.';
    case 'm.accepted': return 'Another of your sessions answered this request.';
    default: return code ? `The verification was cancelled (${code}).` : 'The verification was cancelled.';
  }
}

export class VerificationState {
  private readonly client: MatrixClient;
  private readonly onChange: () => void;
  /** Asked for the password when making a first cross-signing identity needs it. */
  prompt?: UiaPrompt;
  /** What went wrong with the last action the user took (a request that could not be sent), for the views to show. */
  problem?: string;
  private request?: VerificationRequest;
  private verifier?: Verifier;
  private sas?: ShowSasCallbacks;
  private confirmed = false;
  /** We accepted their request (a cancellation after that is worth showing). */
  private answered = false;
  private starting = false;
  private error?: string;
  /** Answers the views read synchronously, filled in the background; cleared when keys change. */
  private readonly userTrust = new Map<string, boolean>();
  /** null: a session without keys (it never ran encryption), which has no trust to show. */
  private readonly deviceTrust = new Map<string, boolean | null>();
  private ownTrust?: SessionTrust;
  private readonly pending = new Set<string>();
  private readonly listeners: Array<[string, (...args: any[]) => void]>;

  constructor(client: MatrixClient, onChange: () => void = () => {}) {
    this.client = client;
    this.onChange = onChange;
    const forget = () => this.forgetTrust();
    this.listeners = [
      [CryptoEvent.VerificationRequestReceived, (request: VerificationRequest) => this.onIncoming(request)],
      [CryptoEvent.UserTrustStatusChanged, forget],
      [CryptoEvent.DevicesUpdated, forget],
      [CryptoEvent.KeysChanged, forget],
    ];
    for (const [event, fn] of this.listeners) client.on(event as never, fn as never);
  }

  stop(): void {
    for (const [event, fn] of this.listeners) this.client.off(event as never, fn as never);
    this.track(undefined);
  }

  /** The verification on screen, if any. */
  get current(): VerificationView | undefined {
    const req = this.request;
    if (!req) return undefined;
    const base = { self: req.isSelfVerification, otherUserId: req.otherUserId, otherDeviceId: req.otherDeviceId };
    if (this.error) return { ...base, step: 'cancelled', reason: this.error };
    switch (req.phase) {
      case VerificationPhase.Done: return { ...base, step: 'done' };
      case VerificationPhase.Cancelled: return { ...base, step: 'cancelled', reason: reasonOf(req.cancellationCode, req.cancellingUserId === this.client.getUserId()) };
      case VerificationPhase.Unsent:
      case VerificationPhase.Requested: return { ...base, step: req.initiatedByMe ? 'waiting' : 'incoming' };
      default:
        if (this.sas) return { ...base, step: this.confirmed ? 'confirmed' : 'emojis', emojis: this.sas.sas.emoji };
        return { ...base, step: 'starting' };
    }
  }

  /** "Verify this session": asks the user's other sessions, one of which accepts. */
  async verifyThisSession(): Promise<void> {
    if (!(await this.hasOtherSessions())) throw new VerificationError('You have no other session to verify this one from: use your recovery key instead.');
    this.track(await this.crypto().requestOwnUserVerification());
  }

  /**
   * "Verify" in a DM: an in-room request to `userId`. Trust between people goes through their
   * cross-signing identities: both need one, and a session that cannot sign with ours is told
   * to get verified first.
   */
  async verifyUser(userId: string, roomId: string): Promise<void> {
    await this.ensureCanSign();
    if (!(await this.crypto().userHasCrossSigningKeys(userId, true))) {
      throw new VerificationError('They have no verification identity yet: it is made the next time they open Whisper.');
    }
    this.track(await this.crypto().requestVerificationDM(userId, roomId));
  }

  /** Accepts the incoming request (the side that asked then starts the emoji comparison). */
  async accept(): Promise<void> {
    const req = this.request;
    if (!req || req.initiatedByMe) return;
    // Vouching for a session or a person signs it with the account's keys: this session must hold them.
    if (req.isSelfVerification && !(await this.crypto().isCrossSigningReady())) {
      throw new VerificationError('This session is not verified itself, so it cannot vouch for another: answer from a verified session, or use your recovery key.');
    }
    if (!req.isSelfVerification) await this.ensureCanSign();
    this.answered = true;
    await req.accept();
    this.onChange();
  }

  /** "They match": our side confirms; done once the other side does too. */
  async match(): Promise<void> {
    if (!this.sas) return;
    this.confirmed = true;
    this.onChange();
    await this.sas.confirm();
  }

  /** "They don't match": cancels, telling the other side why. */
  mismatch(): void {
    this.sas?.mismatch();
    this.onChange();
  }

  /** Decline / cancel at any step; after done or cancelled, closes the panel. */
  async cancel(): Promise<void> {
    const req = this.request;
    if (!req) return;
    const step = this.current?.step;
    if (step === 'done' || step === 'cancelled') {
      this.track(undefined);
      return;
    }
    await req.cancel().catch(() => {});
    this.onChange();
  }

  /** Whether we verified `userId` (their identity, cross-signed by ours); undefined until known. */
  isUserVerified(userId: string): boolean | undefined {
    if (!this.userTrust.has(userId)) {
      this.look(`user:${userId}`, async (crypto) => {
        this.userTrust.set(userId, (await crypto.getUserVerificationStatus(userId)).isCrossSigningVerified());
      });
    }
    return this.userTrust.get(userId);
  }

  /** Whether a session of our own is cross-signed (verified); undefined until known or without keys. */
  isOwnDeviceVerified(deviceId: string): boolean | undefined {
    if (!this.deviceTrust.has(deviceId)) {
      this.look(`device:${deviceId}`, async (crypto) => {
        const status = await crypto.getDeviceVerificationStatus(this.client.getUserId()!, deviceId);
        this.deviceTrust.set(deviceId, status ? status.crossSigningVerified : null);
      });
    }
    return this.deviceTrust.get(deviceId) ?? undefined;
  }

  /** This session's standing, for the "verify this session" banner; undefined until known. */
  thisSession(): SessionTrust | undefined {
    if (this.ownTrust === undefined) {
      this.look('self', async (crypto) => {
        const me = this.client.getUserId()!;
        if (!(await crypto.userHasCrossSigningKeys(me, true))) this.ownTrust = 'no-identity';
        else this.ownTrust = (await crypto.getDeviceVerificationStatus(me, this.client.getDeviceId()!))?.crossSigningVerified ? 'verified' : 'unverified';
      });
    }
    return this.ownTrust;
  }

  /** Whether another session of ours could answer "verify this session". */
  async hasOtherSessions(): Promise<boolean> {
    const me = this.client.getUserId()!;
    const devices = (await this.crypto().getUserDeviceInfo([me])).get(me);
    return [...(devices?.keys() ?? [])].some((id) => id !== this.client.getDeviceId());
  }

  private crypto() {
    const crypto = this.client.getCrypto();
    if (!crypto) throw new VerificationError('Encryption is not running in this session');
    return crypto;
  }

  /** Runs one background lookup per key at a time; redraws when it lands. */
  private look(key: string, fn: (crypto: NonNullable<ReturnType<MatrixClient['getCrypto']>>) => Promise<void>): void {
    const crypto = this.client.getCrypto();
    if (!crypto || this.pending.has(key)) return;
    this.pending.add(key);
    fn(crypto).then(() => this.onChange(), () => {}).finally(() => this.pending.delete(key));
  }

  private forgetTrust(): void {
    this.userTrust.clear();
    this.deviceTrust.clear();
    this.ownTrust = undefined;
    this.onChange();
  }

  /**
   * Gives the account its cross-signing identity when it has none, as Element does at the first
   * sign-in: people can only verify each other's identities, so everyone needs one. A first
   * identity needs no password on this server; `prompt` answers if one is asked all the same.
   */
  async setUpIdentityIfNone(): Promise<void> {
    const crypto = this.crypto();
    const me = this.client.getUserId()!;
    if (await crypto.userHasCrossSigningKeys(me, true)) return;
    const prompt = this.prompt ?? (() => Promise.reject(new VerificationError('Your password is needed to set up verification')));
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: (makeRequest) => withUia(me, (auth) => makeRequest(auth as never), prompt).then(() => {}),
    });
    this.forgetTrust();
  }

  /** Vouching for someone signs their identity with ours: this session must hold our signing keys. */
  private async ensureCanSign(): Promise<void> {
    await this.setUpIdentityIfNone();
    if (!(await this.crypto().isCrossSigningReady())) {
      throw new VerificationError('Verify this session first (Settings → Sessions), or restore it with your recovery key: only then can it vouch for others.');
    }
  }

  /** A request from someone else: shown unless one is already on screen (that one is answered first). */
  private onIncoming(request: VerificationRequest): void {
    if (request.initiatedByMe || request.phase === VerificationPhase.Cancelled || request.phase === VerificationPhase.Done) return;
    const step = this.current?.step;
    if (step && step !== 'done' && step !== 'cancelled') return;
    this.track(request);
  }

  private track(request: VerificationRequest | undefined): void {
    this.request?.off(VerificationRequestEvent.Change, this.onRequestChange);
    this.verifier?.off(VerifierEvent.ShowSas, this.onShowSas);
    this.request = request;
    this.verifier = undefined;
    this.sas = undefined;
    this.confirmed = false;
    this.answered = false;
    this.starting = false;
    this.error = undefined;
    request?.on(VerificationRequestEvent.Change, this.onRequestChange);
    if (request) this.onRequestChange();
    this.onChange();
  }

  private readonly onRequestChange = (): void => {
    const req = this.request;
    if (!req) return;
    // A request we never answered that ends (declined here, withdrawn, or taken by another of our sessions) just goes away.
    if (req.phase === VerificationPhase.Cancelled && !req.initiatedByMe && !this.answered) {
      this.track(undefined);
      return;
    }
    // The side that asked starts the emoji comparison once the other accepts (only SAS is offered).
    if (req.phase === VerificationPhase.Ready && req.initiatedByMe && !this.starting) {
      this.starting = true;
      req.startVerification(SAS).then((v) => { if (this.request === req) this.watch(v); }, (err) => { if (this.request === req) this.fail(err); });
    }
    if (req.phase === VerificationPhase.Started && req.verifier) this.watch(req.verifier);
    if (req.phase === VerificationPhase.Done) this.forgetTrust();
    this.onChange();
  };

  private readonly onShowSas = (sas: ShowSasCallbacks): void => {
    this.sas = sas;
    this.onChange();
  };

  private watch(verifier: Verifier): void {
    if (this.verifier === verifier) return;
    this.verifier = verifier;
    verifier.on(VerifierEvent.ShowSas, this.onShowSas);
    const shown = verifier.getShowSasCallbacks();
    if (shown) this.onShowSas(shown);
    // Resolves when both sides confirmed; rejects on any cancellation, which the request's phase shows.
    verifier.verify().then(() => this.forgetTrust(), () => this.onChange());
  }

  private fail(err: unknown): void {
    this.error = (err as Error).message;
    this.onChange();
  }
}
