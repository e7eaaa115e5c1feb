/**
 * Spec: end-to-end encryption — key upload, query and claim, device-list changes,
 * cross-signing, and to-device messaging. The server relays keys and ciphertext only.
 */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { CROSS_SIGNING_TYPES } from '../services/e2ee/keys.ts';
import { decodeSyncToken } from '../services/sync/tokens.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery } from './validate.ts';

const json = z.record(z.string(), z.unknown());
const id = z.string().min(1).max(255);
const keyMap = z.record(z.string().max(255), z.union([z.string().max(1024), json]));
const uploadBody = z.object({
  device_keys: json.optional(),
  one_time_keys: keyMap.optional(),
  fallback_keys: keyMap.optional(),
  'org.matrix.msc2732.fallback_keys': keyMap.optional(),
});
const queryBody = z.object({
  device_keys: z.record(id, z.array(id).max(1000)),
  timeout: z.number().int().optional(),
});
const claimBody = z.object({
  one_time_keys: z.record(id, z.record(id, id)),
  timeout: z.number().int().optional(),
});
const changesQuery = z.object({ from: z.string().max(200), to: z.string().max(200) });
const crossSigningBody = z.object({
  master_key: json.optional(),
  self_signing_key: json.optional(),
  user_signing_key: json.optional(),
  auth: json.optional(),
});
const signaturesBody = z.record(id, z.record(z.string().max(255), json));
const toDeviceBody = z.object({ messages: z.record(id, z.record(id, json)) });

export function keyHandlers(s: Services) {
  return {
    async upload(ctx: Ctx) {
      const { userId, deviceId } = ctx.state.requester!;
      const body = parseBody(uploadBody, ctx.state.body);
      const counts = await s.keys.upload(userId, deviceId, {
        deviceKeys: body.device_keys,
        oneTimeKeys: body.one_time_keys,
        fallbackKeys: body.fallback_keys ?? body['org.matrix.msc2732.fallback_keys'],
      });
      ctx.body = { one_time_key_counts: counts };
    },

    async query(ctx: Ctx) {
      const body = parseBody(queryBody, ctx.state.body);
      ctx.body = await s.keys.query(ctx.state.requester!.userId, body.device_keys);
    },

    async claim(ctx: Ctx) {
      const body = parseBody(claimBody, ctx.state.body);
      ctx.body = await s.keys.claim(body.one_time_keys);
    },

    async changes(ctx: Ctx) {
      const q = parseQuery(changesQuery, ctx.query);
      ctx.body = await s.deviceLists.changesFor(ctx.state.requester!.userId, decodeSyncToken(q.from), decodeSyncToken(q.to));
    },

    async uploadCrossSigning(ctx: Ctx) {
      const userId = ctx.state.requester!.userId;
      const body = parseBody(crossSigningBody, ctx.state.body);
      const upload = { master: body.master_key, self_signing: body.self_signing_key, user_signing: body.user_signing_key };
      if (!CROSS_SIGNING_TYPES.some((t) => upload[t])) {
        ctx.body = {};
        return;
      }
      // A first upload needs no password (spec v1.11); replacing an identity does.
      const replacing = await s.keys.replacesCrossSigningKeys(userId, upload);
      const done = replacing ? await s.uia.authenticate({ purpose: 'cross_signing', userId, auth: body.auth, flows: [['m.login.password']] }) : undefined;
      await s.keys.uploadCrossSigningKeys(userId, upload);
      if (done) await s.uia.finish(done.sessionId);
      ctx.body = {};
    },

    async uploadSignatures(ctx: Ctx) {
      const body = parseBody(signaturesBody, ctx.state.body);
      ctx.body = { failures: await s.keys.uploadSignatures(ctx.state.requester!.userId, body) };
    },

    async sendToDevice(ctx: Ctx) {
      const body = parseBody(toDeviceBody, ctx.state.body);
      const { eventType, txnId } = ctx.params;
      if (eventType.length > 255 || txnId.length > 255) throw errors.invalidParam('Event type and transaction id are at most 255 characters.');
      await s.toDevice.send(ctx.state.requester!, eventType, txnId, body.messages);
      ctx.body = {};
    },
  };
}
