/** Spec: device management. Each device is a signed-in session, with where it was last seen. */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { DeviceRow } from '../storage/devices.ts';
import type { Ctx } from '../http/types.ts';
import { authField, parseBody } from './validate.ts';
import { auditSourceOf } from './session.ts';

const putDeviceBody = z.object({ display_name: z.string().max(256).nullable().optional() });
const deleteDeviceBody = z.object({ auth: authField });
const deleteDevicesBody = z.object({ devices: z.array(z.string().max(255)).max(1000), auth: authField });

function deviceJson(d: DeviceRow) {
  return {
    device_id: d.device_id,
    display_name: d.display_name ?? undefined,
    last_seen_ip: d.last_seen_ip ?? undefined,
    last_seen_ts: d.last_seen_ts ?? undefined,
    // Not in the spec's device object, but what a "where am I signed in" list needs.
    'org.whisper.last_seen_user_agent': d.last_seen_user_agent ?? undefined,
  };
}

export function deviceHandlers(s: Services) {
  const uiaForDeletion = (ctx: Ctx, auth: unknown) =>
    s.uia.authenticate({ purpose: 'delete_devices', userId: ctx.state.requester!.userId, auth, flows: [['m.login.password']], source: auditSourceOf(ctx) });

  return {
    async list(ctx: Ctx) {
      const devices = await s.sessions.listDevices(ctx.state.requester!.userId);
      ctx.body = { devices: devices.map(deviceJson) };
    },

    async get(ctx: Ctx) {
      ctx.body = deviceJson(await s.sessions.getDevice(ctx.state.requester!.userId, ctx.params.deviceId));
    },

    async update(ctx: Ctx) {
      const body = parseBody(putDeviceBody, ctx.state.body);
      if (body.display_name !== undefined) {
        await s.sessions.renameDevice(ctx.state.requester!.userId, ctx.params.deviceId, body.display_name);
      } else {
        await s.sessions.getDevice(ctx.state.requester!.userId, ctx.params.deviceId);
      }
      ctx.body = {};
    },

    async remove(ctx: Ctx) {
      const userId = ctx.state.requester!.userId;
      const body = parseBody(deleteDeviceBody, ctx.state.body);
      await s.sessions.getDevice(userId, ctx.params.deviceId);
      const done = await uiaForDeletion(ctx, body.auth);
      await s.sessions.deleteDevices(userId, [ctx.params.deviceId], undefined, auditSourceOf(ctx));
      await s.uia.finish(done.sessionId);
      ctx.body = {};
    },

    async removeMany(ctx: Ctx) {
      const userId = ctx.state.requester!.userId;
      const body = parseBody(deleteDevicesBody, ctx.state.body);
      const done = await uiaForDeletion(ctx, body.auth);
      await s.sessions.deleteDevices(userId, body.devices, undefined, auditSourceOf(ctx));
      await s.uia.finish(done.sessionId);
      ctx.body = {};
    },
  };
}
