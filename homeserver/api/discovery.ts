/** What a client asks before signing in: spec versions, well-known, capabilities. */
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';

/** Whisper's own features, advertised in /versions unstable_features. */
export const WHISPER_FEATURES = ['org.whisper.registration_tokens', 'org.whisper.audit', 'org.whisper.friends'] as const;

const SPEC_VERSIONS = ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

export function discoveryHandlers(s: Services) {
  return {
    versions(ctx: Ctx) {
      ctx.body = {
        versions: SPEC_VERSIONS,
        unstable_features: Object.fromEntries(WHISPER_FEATURES.map((f) => [f, true])),
      };
    },

    wellKnown(ctx: Ctx) {
      ctx.body = { 'm.homeserver': { base_url: s.config.publicUrl } };
    },

    capabilities(ctx: Ctx) {
      ctx.body = {
        capabilities: {
          'm.change_password': { enabled: true },
          'm.room_versions': { default: '11', available: { '10': 'stable', '11': 'stable' } },
          'm.set_displayname': { enabled: true },
          'm.set_avatar_url': { enabled: true },
          'm.3pid_changes': { enabled: false },
          'm.get_login_token': { enabled: false },
        },
      };
    },
  };
}
