/** The route table: every path the server answers, its method, and whether it needs a token. */
import { Router } from '@koa/router';
import { accountHandlers } from '../api/account.ts';
import { deviceHandlers } from '../api/devices.ts';
import { discoveryHandlers } from '../api/discovery.ts';
import { profileHandlers } from '../api/profile.ts';
import { relationHandlers, roomHandlers } from '../api/rooms.ts';
import { accountDataHandlers } from '../api/accountData.ts';
import { clientSupportHandlers } from '../api/clientSupport.ts';
import { directoryHandlers } from '../api/directory.ts';
import { searchHandlers } from '../api/search.ts';
import { keyHandlers } from '../api/keys.ts';
import { keyBackupHandlers } from '../api/keyBackup.ts';
import { presenceHandlers } from '../api/presence.ts';
import { pushHandlers } from '../api/push.ts';
import { receiptHandlers } from '../api/receipts.ts';
import { syncHandlers } from '../api/sync.ts';
import { sessionHandlers } from '../api/session.ts';
import { webClientHandlers } from '../api/webClient.ts';
import { mediaHandlers } from '../api/media.ts';
import { auditHandlers } from '../api/audit.ts';
import { twoFactorHandlers } from '../api/twoFactor.ts';
import { LOGIN_PAGE_PATH, loginPageHandlers } from '../api/loginPage.ts';
import { emailHandlers } from '../api/email.ts';
import { VALIDATE_PAGE_PATH } from '../services/email.ts';
import { friendHandlers } from '../api/friends.ts';
import { voiceHandlers } from '../api/voice.ts';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { optionalAuth, requireAuth } from './middleware/auth.ts';
import type { Ctx, WhisperState } from './types.ts';

/** Client-server paths under v3 and, for older clients, r0. */
const cs = (path: string) => [`/_matrix/client/v3${path}`, `/_matrix/client/r0${path}`];
const v1 = (path: string) => [`/_matrix/client/v1${path}`];
/** Whisper's own API. */
const whisper = (path: string) => [`/_whisper/client/v1${path}`];

/** Pages people open in a browser: their errors are pages too, not Matrix error JSON. */
export const isBrowserPage = (path: string): boolean => path === LOGIN_PAGE_PATH || path === VALIDATE_PAGE_PATH;

/** The login page's form posts (application/x-www-form-urlencoded). */
export const takesFormBody = (path: string): boolean => path === LOGIN_PAGE_PATH;

/** Paths whose request body is the uploaded file itself: streamed by their handler, never parsed as JSON. */
export const takesRawBody = (path: string): boolean => /^\/_matrix\/media\/v3\/upload(\/|$)/.test(path);

type Handler = (ctx: Ctx) => unknown;

export function buildRouter(s: Services): Router<WhisperState> {
  const router = new Router<WhisperState>({ exclusive: 'specificity' });
  const auth = requireAuth(s.sessions);
  // The handler's own promise, not an async wrapper awaiting it: no extra frame held per request.
  const open = (h: Handler) => (ctx: Ctx) => h(ctx);
  const authed = (h: Handler) => [auth, open(h)] as const;

  const discovery = discoveryHandlers(s);
  const session = sessionHandlers(s);
  const account = accountHandlers(s);
  const devices = deviceHandlers(s);
  const profile = profileHandlers(s);
  const rooms = roomHandlers(s);
  const relations = relationHandlers(s);
  const directory = directoryHandlers(s);
  const sync = syncHandlers(s);
  const accountData = accountDataHandlers(s);
  const receipts = receiptHandlers(s);
  const push = pushHandlers(s);

  const web = webClientHandlers(() => s.config.publicUrl);
  router.get('/', open(web.index));
  router.get('/assets/:file', open(web.asset));
  router.get('/assets/:dir/:file', open(web.asset));
  router.get('/_matrix/client/versions', open(discovery.versions));
  router.get('/.well-known/matrix/client', open(discovery.wellKnown));
  router.get(cs('/capabilities'), ...authed(discovery.capabilities));

  router.get(cs('/login'), open(session.loginFlows));
  router.post(cs('/login'), open(session.login));
  router.post(cs('/refresh'), open(session.refresh));
  const loginPage = loginPageHandlers(s);
  router.get(cs('/login/sso/redirect'), open(loginPage.ssoRedirect));
  router.get(cs('/login/sso/redirect/:idpId'), open(loginPage.ssoRedirect));
  router.get(LOGIN_PAGE_PATH, open(loginPage.show));
  router.post(LOGIN_PAGE_PATH, open(loginPage.submit));
  router.post(cs('/logout'), ...authed(session.logout));
  router.post(cs('/logout/all'), ...authed(session.logoutAll));
  router.get(cs('/account/whoami'), ...authed(session.whoami));

  router.post(cs('/register'), open(account.register));
  router.get(cs('/register/available'), open(account.available));
  router.get(v1('/register/m.login.registration_token/validity'), open(account.registrationTokenValidity));
  // The password: signed in (UIA password), or signed out with a reset mail (UIA email).
  router.post(cs('/account/password'), optionalAuth(s.sessions), open(account.changePassword));
  const email = emailHandlers(s);
  router.post(cs('/account/password/email/requestToken'), open(email.requestResetToken));
  router.post(cs('/account/3pid/email/requestToken'), open(email.requestAddToken));
  router.post(cs('/account/3pid/add'), ...authed(email.add));
  router.post(cs('/account/3pid/delete'), ...authed(email.remove));
  router.get(VALIDATE_PAGE_PATH, open(email.validate));
  router.post(cs('/account/deactivate'), ...authed(account.deactivate));

  router.get(cs('/devices'), ...authed(devices.list));
  router.get(cs('/devices/:deviceId'), ...authed(devices.get));
  router.put(cs('/devices/:deviceId'), ...authed(devices.update));
  router.delete(cs('/devices/:deviceId'), ...authed(devices.remove));
  router.post(cs('/delete_devices'), ...authed(devices.removeMany));

  router.get(cs('/profile/:userId'), open(profile.get));
  router.get(cs('/profile/:userId/displayname'), open(profile.getField('displayname')));
  router.get(cs('/profile/:userId/avatar_url'), open(profile.getField('avatar_url')));
  router.put(cs('/profile/:userId/displayname'), ...authed(profile.putDisplayname));
  router.put(cs('/profile/:userId/avatar_url'), ...authed(profile.putAvatarUrl));

  router.post(cs('/createRoom'), ...authed(rooms.createRoom));
  router.post(cs('/join/:roomIdOrAlias'), ...authed(rooms.join));
  router.post(cs('/rooms/:roomId/join'), ...authed(rooms.join));
  router.post(cs('/knock/:roomIdOrAlias'), ...authed(rooms.knock));
  router.post(cs('/rooms/:roomId/invite'), ...authed(rooms.invite));
  router.post(cs('/rooms/:roomId/leave'), ...authed(rooms.leave));
  router.post(cs('/rooms/:roomId/kick'), ...authed(rooms.kick));
  router.post(cs('/rooms/:roomId/ban'), ...authed(rooms.ban));
  router.post(cs('/rooms/:roomId/unban'), ...authed(rooms.unban));
  router.post(cs('/rooms/:roomId/forget'), ...authed(rooms.forget));
  router.get(cs('/joined_rooms'), ...authed(rooms.joinedRooms));
  router.get(cs('/rooms/:roomId/context/:eventId'), ...authed(rooms.context));

  router.get(cs('/directory/room/:alias'), open(directory.getAlias));
  router.put(cs('/directory/room/:alias'), ...authed(directory.putAlias));
  router.delete(cs('/directory/room/:alias'), ...authed(directory.deleteAlias));
  router.get(cs('/rooms/:roomId/aliases'), ...authed(directory.roomAliases));
  router.get(cs('/directory/list/room/:roomId'), open(directory.getVisibility));
  router.put(cs('/directory/list/room/:roomId'), ...authed(directory.putVisibility));
  router.get(cs('/publicRooms'), ...authed(directory.publicRoomsGet));
  router.post(cs('/publicRooms'), ...authed(directory.publicRoomsPost));
  router.put(cs('/rooms/:roomId/send/:eventType/:txnId'), ...authed(rooms.send));
  router.get(cs('/rooms/:roomId/state'), ...authed(rooms.getState));
  router.get(cs('/rooms/:roomId/state/:eventType'), ...authed(rooms.getStateEvent));
  router.get(cs('/rooms/:roomId/state/:eventType/:stateKey'), ...authed(rooms.getStateEvent));
  router.put(cs('/rooms/:roomId/state/:eventType'), ...authed(rooms.putState));
  router.put(cs('/rooms/:roomId/state/:eventType/:stateKey'), ...authed(rooms.putState));
  router.put(cs('/rooms/:roomId/redact/:eventId/:txnId'), ...authed(rooms.redact));
  router.get(cs('/rooms/:roomId/event/:eventId'), ...authed(rooms.event));
  router.get(cs('/rooms/:roomId/messages'), ...authed(rooms.messages));
  router.get(cs('/rooms/:roomId/members'), ...authed(rooms.members));
  router.get(cs('/rooms/:roomId/joined_members'), ...authed(rooms.joinedMembers));

  for (const path of ['', '/:relType', '/:relType/:eventType']) {
    router.get(v1(`/rooms/:roomId/relations/:eventId${path}`), ...authed(relations.relations));
  }
  router.get(v1('/rooms/:roomId/threads'), ...authed(relations.threads));
  router.get(v1('/rooms/:roomId/hierarchy'), ...authed(directory.hierarchy));

  router.post(cs('/search'), ...authed(searchHandlers(s).search));

  const support = clientSupportHandlers(s);
  router.get(cs('/voip/turnServer'), ...authed(support.turnServer));
  router.get(cs('/pushers'), ...authed(support.pushers));
  router.post(cs('/pushers/set'), ...authed(support.setPusher));
  router.get(cs('/thirdparty/protocols'), ...authed(support.thirdPartyProtocols));
  router.get(cs('/account/3pid'), ...authed(email.list));

  // End-to-end encryption: keys, cross-signing, to-device, key backup.
  const keys = keyHandlers(s);
  router.post(cs('/keys/upload'), ...authed(keys.upload));
  router.post(cs('/keys/query'), ...authed(keys.query));
  router.post(cs('/keys/claim'), ...authed(keys.claim));
  router.get(cs('/keys/changes'), ...authed(keys.changes));
  router.post(cs('/keys/device_signing/upload'), ...authed(keys.uploadCrossSigning));
  router.post(cs('/keys/signatures/upload'), ...authed(keys.uploadSignatures));
  router.put(cs('/sendToDevice/:eventType/:txnId'), ...authed(keys.sendToDevice));
  const backup = keyBackupHandlers(s);
  router.post(cs('/room_keys/version'), ...authed(backup.createVersion));
  router.get(cs('/room_keys/version'), ...authed(backup.getVersion));
  router.get(cs('/room_keys/version/:version'), ...authed(backup.getVersion));
  router.put(cs('/room_keys/version/:version'), ...authed(backup.updateVersion));
  router.delete(cs('/room_keys/version/:version'), ...authed(backup.deleteVersion));
  for (const [level, path] of [['all', ''], ['room', '/:roomId'], ['session', '/:roomId/:sessionId']] as const) {
    router.put(cs(`/room_keys/keys${path}`), ...authed(backup.putKeys(level)));
    router.get(cs(`/room_keys/keys${path}`), ...authed(backup.getKeys(level)));
    router.delete(cs(`/room_keys/keys${path}`), ...authed(backup.deleteKeys));
  }

  const presence = presenceHandlers(s);
  router.get(cs('/presence/:userId/status'), ...authed(presence.getStatus));
  router.put(cs('/presence/:userId/status'), ...authed(presence.putStatus));
  router.post(cs('/user_directory/search'), ...authed(presence.searchUsers));

  router.get(cs('/sync'), ...authed(sync.sync));
  router.post(cs('/user/:userId/filter'), ...authed(sync.createFilter));
  router.get(cs('/user/:userId/filter/:filterId'), ...authed(sync.getFilter));

  router.put(cs('/user/:userId/account_data/:type'), ...authed(accountData.put));
  router.get(cs('/user/:userId/account_data/:type'), ...authed(accountData.get));
  router.put(cs('/user/:userId/rooms/:roomId/account_data/:type'), ...authed(accountData.put));
  router.get(cs('/user/:userId/rooms/:roomId/account_data/:type'), ...authed(accountData.get));
  router.get(cs('/user/:userId/rooms/:roomId/tags'), ...authed(accountData.tags));
  router.put(cs('/user/:userId/rooms/:roomId/tags/:tag'), ...authed(accountData.putTag));
  router.delete(cs('/user/:userId/rooms/:roomId/tags/:tag'), ...authed(accountData.deleteTag));

  router.post(cs('/rooms/:roomId/receipt/:receiptType/:eventId'), ...authed(receipts.receipt));
  router.post(cs('/rooms/:roomId/read_markers'), ...authed(receipts.readMarkers));
  router.put(cs('/rooms/:roomId/typing/:userId'), ...authed(receipts.typing));

  router.get(cs('/pushrules'), ...authed(push.all));
  router.get(cs('/pushrules/'), ...authed(push.all));
  router.get(cs('/pushrules/:scope'), ...authed(push.scope));
  router.get(cs('/pushrules/:scope/:kind/:ruleId'), ...authed(push.getRule));
  router.put(cs('/pushrules/:scope/:kind/:ruleId'), ...authed(push.putRule));
  router.delete(cs('/pushrules/:scope/:kind/:ruleId'), ...authed(push.deleteRule));
  for (const attribute of ['enabled', 'actions'] as const) {
    router.get(cs(`/pushrules/:scope/:kind/:ruleId/${attribute}`), ...authed(push.getAttribute(attribute)));
    router.put(cs(`/pushrules/:scope/:kind/:ruleId/${attribute}`), ...authed(push.putAttribute(attribute)));
  }
  router.get(cs('/notifications'), ...authed(push.notifications));

  // Media repository (full paths: uploads live under /_matrix/media, reads under /_matrix/client/v1/media).
  const media = mediaHandlers(s);
  router.post('/_matrix/media/v3/upload', ...authed(media.upload));
  router.put('/_matrix/media/v3/upload/:serverName/:mediaId', ...authed(media.uploadTo));
  router.post('/_matrix/media/v1/create', ...authed(media.create));
  router.get(v1('/media/download/:serverName/:mediaId'), ...authed(media.download));
  router.get(v1('/media/download/:serverName/:mediaId/:fileName'), ...authed(media.download));
  router.get(v1('/media/thumbnail/:serverName/:mediaId'), ...authed(media.thumbnail));
  for (const base of ['/_matrix/client/v1/media', '/_matrix/media/v3']) {
    router.get(`${base}/config`, ...authed(media.config));
    router.get(`${base}/preview_url`, ...authed(media.previewUrl));
  }
  router.get('/_matrix/media/v3/download/:serverName/:mediaId', open(media.legacyDownload));
  router.get('/_matrix/media/v3/download/:serverName/:mediaId/:fileName', open(media.legacyDownload));
  router.get('/_matrix/media/v3/thumbnail/:serverName/:mediaId', open(media.legacyThumbnail));

  // Whisper: the audit log (own entries; admins: everyone's).
  const audit = auditHandlers(s);
  router.get(whisper('/audit'), ...authed(audit.ownPage));
  router.get(whisper('/audit/export'), ...authed(audit.ownExport));
  router.get('/_whisper/admin/v1/audit', ...authed(audit.adminPage));
  router.get('/_whisper/admin/v1/audit/export', ...authed(audit.adminExport));

  // Whisper: two-factor authentication.
  const twoFactor = twoFactorHandlers(s);
  router.get(whisper('/2fa'), ...authed(twoFactor.status));
  router.post(whisper('/2fa/totp'), ...authed(twoFactor.enrol));
  router.post(whisper('/2fa/totp/confirm'), ...authed(twoFactor.confirm));
  router.post(whisper('/2fa/recovery_codes'), ...authed(twoFactor.recoveryCodes));
  router.post(whisper('/2fa/disable'), ...authed(twoFactor.disable));

  // Whisper: friends, blocking, privacy and the friend notifications feed.
  const friends = friendHandlers(s);
  router.get(whisper('/friends'), ...authed(friends.list));
  router.post(whisper('/friends/requests'), ...authed(friends.request));
  router.post(whisper('/friends/requests/:userId/accept'), ...authed(friends.accept));
  router.post(whisper('/friends/requests/:userId/decline'), ...authed(friends.decline));
  router.delete(whisper('/friends/requests/:userId'), ...authed(friends.cancel));
  router.delete(whisper('/friends/:userId'), ...authed(friends.remove));
  router.get(whisper('/blocks'), ...authed(friends.blocks));
  router.put(whisper('/blocks/:userId'), ...authed(friends.block));
  router.delete(whisper('/blocks/:userId'), ...authed(friends.unblock));
  router.get(whisper('/privacy'), ...authed(friends.privacy));
  router.put(whisper('/privacy'), ...authed(friends.setPrivacy));
  router.get(whisper('/notifications'), ...authed(friends.notifications));
  router.post(whisper('/notifications/read'), ...authed(friends.markRead));
  // Whisper voice channels: signaling is a WebSocket (http/voiceSocket.ts); this says whether voice works here.
  router.get('/_whisper/client/v1/voice/status', ...authed(voiceHandlers(s).status));

  return router;
}

/** 405 for a known path with the wrong method, as M_UNRECOGNIZED. */
export function allowedMethods(router: Router<WhisperState>) {
  return router.allowedMethods({
    throw: true,
    methodNotAllowed: () => errors.unrecognized(405, 'Method not allowed'),
    notImplemented: () => errors.unrecognized(405, 'Method not allowed'),
  });
}
